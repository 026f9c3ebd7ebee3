/**
 * What a Kafka API handler is: a function from one decoded request to its response body, given the
 * listener's context. Handlers are short (decode is done, encoding is done after): they call core
 * services and translate errors per topic or partition with toKafkaError.
 */
import type { CommitNotifier } from '../core/commit-notifier.ts';
import type { GroupService } from '../core/groups.ts';
import type { LogService } from '../core/log-types.ts';
import type { TopicServiceImpl } from '../core/topics.ts';
import type { Clock } from '../ports/clock.ts';
import type { GroupCoordinator } from './coordinator.ts';
import type { ForwardingState } from './forwarding.ts';
import type { RequestHeader } from './protocol/frames.ts';
import type { Api, RequestOf, ResponseInput } from './protocol/schema.ts';

/** A listener as clients reach it (Metadata's brokers, FindCoordinator's answer). */
export interface Broker {
  nodeId: number;
  host: string;
  port: number;
}

/** The core services a listener serves from: the same ones the HTTP API uses. */
export interface KafkaServices {
  topics: TopicServiceImpl;
  log: LogService;
  groups: GroupService;
  notifier: CommitNotifier;
}

export interface Logger {
  debug(message: string, fields?: Record<string, unknown>): void;
  info(message: string, fields?: Record<string, unknown>): void;
  warn(message: string, fields?: Record<string, unknown>): void;
  error(message: string, fields?: Record<string, unknown>): void;
}

/** One client connection's state. */
export interface Connection {
  readonly id: number;
  /** Where the client connected from (for a forwarded request, the client the forwarder serves). */
  remoteAddress: string;
  clientId: string | null;
  /** Set once SASL succeeds; always true where the listener requires no authentication. */
  authenticated: boolean;
  /** The mechanism a SaslHandshake chose, until the exchange ends. */
  saslMechanism?: string;
  /** SaslHandshake v0: the next frame is a bare SASL token, not a request. */
  rawSaslNext?: boolean;
  /** Close the connection once this request's response is written (a failed SASL exchange). */
  closeAfterResponse?: boolean;
  /** Its connection to the coordinator its group requests are forwarded to (forwarding.ts). */
  forwarding?: ForwardingState;
}

export interface KafkaContext {
  readonly services: KafkaServices;
  /** The classic group protocol's coordinator for the groups whose lease this listener holds. */
  readonly coordinator: GroupCoordinator;
  readonly clock: Clock;
  /** This listener, as clients reach it. */
  readonly self: Broker;
  /**
   * Every listener serving this backend (this one included), for Metadata; the lowest node id among
   * them is the controller (topic admin and InitProducerId go there).
   */
  brokers(): Promise<Broker[]>;
  /** The APIs this listener has handlers for: what ApiVersions advertises. */
  readonly served: readonly Api[];
  /** SASL/PLAIN's password where the listener requires authentication. */
  readonly token?: string;
  readonly log: Logger;
  /**
   * Forwards a group request (its frame as read) to the group's coordinator elsewhere and resolves
   * with the response frame to relay; undefined when it is answered here. Unset: never forwarded.
   */
  readonly relay?: (
    group: string,
    frame: Buffer,
    header: RequestHeader,
    connection: Connection,
    signal: AbortSignal,
  ) => Promise<Buffer | undefined>;
}

export interface RequestInfo {
  version: number;
  connection: Connection;
  /** Aborted when the connection closes: long waits (Fetch, JoinGroup) end early. */
  signal: AbortSignal;
}

/** A handler's answer; `null` means no response at all (Produce with acks=0). */
export type HandlerResult<A extends Api> = ResponseInput<A> | null;

export interface Handler<A extends Api = Api> {
  readonly api: A;
  handle(request: RequestOf<A>, context: KafkaContext, info: RequestInfo): Promise<HandlerResult<A>>;
}

export function handler<A extends Api>(api: A, handle: Handler<A>['handle']): Handler<A> {
  return { api, handle };
}
