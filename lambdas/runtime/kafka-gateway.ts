import { systemClock } from '../ports/clock.ts';
import { createServices } from './backends.ts';
import { type RegisteredKafkaListener, startRegisteredKafkaListener } from './kafka-listeners.ts';
import { createLocalLogger, type LocalLogger, type LogLevel } from './local-log.ts';
import { type LocalServerOptions, openBackend, refuseOpenWithoutToken } from './local-server.ts';

export interface KafkaGatewayOptions
  extends Pick<LocalServerOptions, 'backend' | 'aws' | 'dataDir' | 'memory' | 'durability' | 'storage'> {
  /** Where to listen; default 127.0.0.1. Off loopback a token is required. */
  host?: string;
  /** 0 picks a free port. */
  port: number;
  /** The host clients are told to reach this gateway at; default `host`. */
  advertisedHost?: string;
  /**
   * The host the other gateways reach this one at, to forward group requests (several gateways
   * behind one load balancer); default `host`, or for 0.0.0.0 the first private IPv4 address.
   */
  internalHost?: string;
  /** SASL/PLAIN's password: clients authenticate with it before anything else. */
  token?: string;
  logLevel?: LogLevel;
  logger?: LocalLogger;
}

export interface KafkaGateway {
  /** `kafka://host:port` as clients are told to reach it. */
  url: string;
  /** Resolves when another gateway took this one's node id and this one stopped serving. */
  lost: Promise<void>;
  close(): Promise<void>;
}

export async function startKafkaGateway(options: KafkaGatewayOptions): Promise<KafkaGateway> {
  const host = options.host ?? '127.0.0.1';
  refuseOpenWithoutToken(host, options.token);
  const backend = await openBackend(options);
  const logger = options.logger ?? createLocalLogger(options.logLevel);
  const services = createServices(backend, systemClock);
  let listener: RegisteredKafkaListener;
  try {
    listener = await startRegisteredKafkaListener({
      host,
      port: options.port,
      advertisedHost: options.advertisedHost,
      internalHost: options.internalHost,
      services,
      meta: backend.meta,
      clock: systemClock,
      log: logger,
      token: options.token || undefined,
    });
  } catch (error) {
    await backend.close();
    throw error;
  }
  return {
    url: listener.url,
    lost: listener.lost,
    close: async () => {
      await listener.close();
      await backend.close();
    },
  };
}
