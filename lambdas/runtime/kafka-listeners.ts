/**
 * A Kafka listener registered with the backend's listener registry (core/listeners.ts), as the local
 * server and `streambed kafka-gateway` run it: it takes a node id, starts listening, advertises where
 * clients reach it, renews its registration on a timer and leaves on close. Metadata lists every live
 * listener over the backend as a broker, the lowest node id as controller. It also registers its
 * internal address, where the others forward group requests for the groups it coordinates.
 */
import { randomUUID } from 'node:crypto';
import { networkInterfaces } from 'node:os';
import { StreamError } from '../core/errors.ts';
import { createListenerRegistry, DEFAULT_LISTENER_TTL_MS } from '../core/listeners.ts';
import { createGroupCoordinator } from '../kafka/coordinator.ts';
import type { Broker, KafkaServices, Logger } from '../kafka/handler.ts';
import { HANDLERS } from '../kafka/handlers/index.ts';
import { type KafkaListener, startKafkaListener } from '../kafka/listener.ts';
import type { Clock } from '../ports/clock.ts';
import type { MetaStore } from '../ports/meta-store.ts';
import { errorFields } from './local-log.ts';

export interface RegisteredKafkaListenerOptions {
  host: string;
  /** 0 picks a free port. */
  port: number;
  advertisedHost?: string;
  /** The port clients are told to connect to; default the one listened on. */
  advertisedPort?: number;
  /** The host other listeners reach this one at; default `internalHostOf(host)`. */
  internalHost?: string;
  services: KafkaServices;
  meta: MetaStore;
  clock: Clock;
  log: Logger;
  token?: string;
  /** How long a registration lives without renewal (renewed at a third of it). Default 30 s. */
  registrationTtlMs?: number;
  /** Appended to the busy-port error: what else the user can do (e.g. start without the listener). */
  busyPortHint?: string;
}

export interface RegisteredKafkaListener extends KafkaListener {
  /**
   * Resolves when another listener took this one's node id (this one stalled past its registration's
   * life): by then this listener has stopped serving, since two brokers with one node id would confuse
   * every client. A gateway exits on it so its supervisor starts a fresh one.
   */
  readonly lost: Promise<void>;
}

export async function startRegisteredKafkaListener(
  options: RegisteredKafkaListenerOptions,
): Promise<RegisteredKafkaListener> {
  const ttlMs = options.registrationTtlMs ?? DEFAULT_LISTENER_TTL_MS;
  const registry = createListenerRegistry({
    meta: options.meta,
    clock: options.clock,
    owner: `kafka-${randomUUID()}`,
    ttlMs,
  });
  const registration = await registry.join();
  let listener: KafkaListener;
  try {
    listener = await startKafkaListener({
      host: options.host,
      port: options.port,
      advertisedHost: options.advertisedHost,
      advertisedPort: options.advertisedPort,
      internalHost: options.internalHost ?? internalHostOf(options.host),
      services: options.services,
      clock: options.clock,
      handlers: HANDLERS,
      log: options.log,
      token: options.token,
      nodeId: registration.nodeId,
      coordinator: (self) =>
        createGroupCoordinator({
          meta: options.meta,
          clock: options.clock,
          groups: options.services.groups,
          self,
        }),
      // This listener is always among them, even while a renewal of its own item is late.
      brokers: async (self: Broker) => brokersByAddress(self, await registry.liveListeners()),
      peers: async (nodeId) => {
        const peer = (await registry.liveListeners()).find((broker) => broker.nodeId === nodeId);
        return peer?.internalHost === undefined || peer.internalPort === undefined
          ? undefined
          : { host: peer.internalHost, port: peer.internalPort };
      },
    });
    await registration.advertise({
      host: listener.self.host,
      port: listener.self.port,
      internalHost: listener.internal.host,
      internalPort: listener.internal.port,
    });
  } catch (error) {
    await registration.leave().catch(() => {});
    if ((error as NodeJS.ErrnoException).code === 'EADDRINUSE') {
      throw new Error(
        `--kafka-port ${options.port}: the port is in use (another Kafka broker or Streambed?); choose another with --kafka-port N${options.busyPortHint ?? ''}`,
      );
    }
    throw error;
  }

  let renewing: Promise<void> | undefined;
  let markLost: () => void = () => {};
  const lost = new Promise<void>((resolve) => {
    markLost = resolve;
  });
  const timer = setInterval(() => {
    if (renewing !== undefined) return;
    renewing = registration
      .renew()
      .catch(async (error: unknown) => {
        if (!(error instanceof StreamError && error.code === 'LEASE_LOST')) {
          options.log.error('kafka: renewing the listener registration failed', {
            nodeId: registration.nodeId,
            ...errorFields(error),
          });
          return;
        }
        clearInterval(timer);
        options.log.error(
          "kafka: another listener took this listener's node id while it stalled; the listener stopped (restart it)",
          { nodeId: registration.nodeId },
        );
        await listener.close();
        markLost();
      })
      .finally(() => {
        renewing = undefined;
      });
  }, ttlMs / 3);
  timer.unref();

  return {
    self: listener.self,
    internal: listener.internal,
    url: listener.url,
    lost,
    close: async () => {
      clearInterval(timer);
      await renewing;
      await listener.close();
      await registration.leave();
    },
  };
}

/**
 * One broker per advertised address: this listener for its own, the lowest node id for any other.
 * Listeners sharing an address (tasks behind one load balancer) are one broker to clients, which
 * reach any of them there (KafkaJS, for one, mixes up node ids that share its bootstrap address);
 * group requests are forwarded to their coordinator (forwarding.ts).
 */
export function brokersByAddress(self: Broker, live: readonly Broker[]): Broker[] {
  const byAddress = new Map<string, Broker>([[`${self.host}:${self.port}`, self]]);
  for (const { nodeId, host, port } of [...live].sort((a, b) => a.nodeId - b.nodeId)) {
    const address = `${host}:${port}`;
    if (!byAddress.has(address)) byAddress.set(address, { nodeId, host, port });
  }
  return [...byAddress.values()].sort((a, b) => a.nodeId - b.nodeId);
}

/**
 * Where other listeners reach one bound to `host`: that host, but for a wildcard (0.0.0.0, ::) the
 * machine's first private IPv4 address (a Fargate task's own, in awsvpc mode), else loopback.
 */
export function internalHostOf(host: string): string {
  if (host !== '0.0.0.0' && host !== '::' && host !== '') return host;
  for (const addresses of Object.values(networkInterfaces())) {
    for (const address of addresses ?? []) {
      if (address.family === 'IPv4' && !address.internal && !address.address.startsWith('169.254.')) {
        return address.address;
      }
    }
  }
  return '127.0.0.1';
}
