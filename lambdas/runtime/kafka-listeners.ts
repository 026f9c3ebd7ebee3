/**
 * A Kafka listener registered with the backend's listener registry (core/listeners.ts), as the local
 * server and `streambed kafka-gateway` run it: it takes a node id, starts listening, advertises where
 * clients reach it, renews its registration on a timer and leaves on close. Metadata lists every live
 * listener over the backend as a broker, the lowest node id as controller.
 */
import { randomUUID } from 'node:crypto';
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
  services: KafkaServices;
  meta: MetaStore;
  clock: Clock;
  log: Logger;
  token?: string;
  /** How long a registration lives without renewal (renewed at a third of it). Default 30 s. */
  registrationTtlMs?: number;
}

export async function startRegisteredKafkaListener(
  options: RegisteredKafkaListenerOptions,
): Promise<KafkaListener> {
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
      brokers: async (self: Broker) => {
        const live = await registry.liveListeners();
        if (live.some((broker) => broker.nodeId === self.nodeId)) return live;
        return [...live, self].sort((a, b) => a.nodeId - b.nodeId);
      },
    });
    await registration.advertise({ host: listener.self.host, port: listener.self.port });
  } catch (error) {
    await registration.leave().catch(() => {});
    throw error;
  }

  let renewing: Promise<void> | undefined;
  const timer = setInterval(() => {
    if (renewing !== undefined) return;
    renewing = registration
      .renew()
      .catch((error: unknown) => {
        options.log.error('kafka: renewing the listener registration failed', {
          nodeId: registration.nodeId,
          ...errorFields(error),
        });
      })
      .finally(() => {
        renewing = undefined;
      });
  }, ttlMs / 3);
  timer.unref();

  return {
    self: listener.self,
    url: listener.url,
    close: async () => {
      clearInterval(timer);
      await renewing;
      await listener.close();
      await registration.leave();
    },
  };
}
