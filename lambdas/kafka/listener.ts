/**
 * The Kafka protocol listener (DESIGN §13): a TCP server that reads Kafka request frames, hands each to
 * its API's handler and writes the responses back.
 *
 * Invariants:
 * - One request at a time per connection, answered in the order received (as Kafka's broker mutes a
 *   connection while it serves a request and until its response is sent): clients match responses to
 *   requests by order as well as by correlation id. A client that does not read its responses is not
 *   served further, so they are never buffered without bound. Clients open several connections (one for fetches, one for their group
 *   coordinator), so a long-polling Fetch never holds up a Heartbeat.
 * - A frame that does not parse, an API or version this listener does not speak (but ApiVersions), or a
 *   frame larger than MAX_FRAME_BYTES (MAX_UNAUTHENTICATED_FRAME_BYTES until SASL succeeds) closes the
 *   connection, as Kafka does: there is no way to answer a request one cannot read.
 * - An ApiVersions request newer than this listener speaks is answered at version 0 with
 *   UNSUPPORTED_VERSION and this listener's ApiVersions range, so the client retries with one it has.
 * - A group request for a group whose coordinator lease another live listener holds is forwarded to
 *   that listener's internal address and its answer relayed (forwarding.ts), where `peers` tells
 *   those addresses; a forwarded request is always answered here.
 * - Where the listener requires authentication, only ApiVersions and the SASL exchange are served until
 *   it succeeds; anything else closes the connection. A refused SASL exchange is answered first, then
 *   the connection closes (a handler sets `closeAfterResponse`).
 */
import { timingSafeEqual } from 'node:crypto';
import { createServer, type Server, type Socket } from 'node:net';
import type { Clock } from '../ports/clock.ts';
import type { GroupCoordinator } from './coordinator.ts';
import { KafkaError } from './errors.ts';
import { forward, forwardableGroup, forwardedFrom } from './forwarding.ts';
import type { Broker, Connection, Handler, KafkaContext, KafkaServices, Logger } from './handler.ts';
import { ProtocolError } from './protocol/codec.ts';
import { APIS, readRequestBody, readRequestHeader, writeResponse } from './protocol/frames.ts';
import { ApiVersions, SaslAuthenticate, SaslHandshake } from './protocol/messages.ts';
import type { Api } from './protocol/schema.ts';

/** The largest request frame accepted (Kafka's socket.request.max.bytes default). */
export const MAX_FRAME_BYTES = 100 * 1024 * 1024;
/**
 * The largest frame accepted before SASL authentication succeeds (Kafka's sasl.server.max.receive.size
 * default), so a client without the token cannot make the server hold 100 MiB per connection.
 */
export const MAX_UNAUTHENTICATED_FRAME_BYTES = 512 * 1024;

export interface KafkaListenerOptions {
  host: string;
  /** 0 picks a free port. */
  port: number;
  /** The host clients are told to connect to (Metadata, FindCoordinator); default `host`. */
  advertisedHost?: string;
  /** The port clients are told to connect to (a load balancer's); default the one listened on. */
  advertisedPort?: number;
  /** The host other listeners reach this one at, to forward group requests; default `host`. */
  internalHost?: string;
  /**
   * Where another live listener, by node id, is reached by this one (its internal address); group
   * requests for the groups it coordinates are forwarded there. Unset: nothing is forwarded.
   */
  peers?: (nodeId: number) => Promise<{ host: string; port: number } | undefined>;
  services: KafkaServices;
  clock: Clock;
  handlers: readonly Handler[];
  log: Logger;
  /** Require SASL/PLAIN with this password before anything but ApiVersions and the SASL exchange. */
  token?: string;
  /** This listener's node id; default 0. */
  nodeId?: number;
  /** The group coordinator of this listener, made once its address is known; closed with it. */
  coordinator: (self: Broker) => GroupCoordinator;
  /** Every listener over the backend, for Metadata; default this one alone. */
  brokers?: (self: Broker) => Promise<Broker[]>;
}

export interface KafkaListener {
  readonly self: Broker;
  /** Where other listeners reach this one. */
  readonly internal: { host: string; port: number };
  /** `kafka://host:port` as clients are told to reach it. */
  readonly url: string;
  close(): Promise<void>;
}

const SASL_APIS = new Set<number>([ApiVersions.key, SaslHandshake.key, SaslAuthenticate.key]);

export async function startKafkaListener(options: KafkaListenerOptions): Promise<KafkaListener> {
  const handlers = new Map<number, Handler>(options.handlers.map((h) => [h.api.key, h]));
  const sockets = new Set<Socket>();
  let nextConnectionId = 1;
  const server: Server = createServer({ noDelay: true });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address();
  const port = typeof address === 'object' && address !== null ? address.port : options.port;
  const self: Broker = {
    nodeId: options.nodeId ?? 0,
    host: options.advertisedHost ?? options.host,
    port: options.advertisedPort ?? port,
  };
  const internal = { host: options.internalHost ?? options.host, port };
  const coordinator = options.coordinator(self);
  const context: KafkaContext = {
    services: options.services,
    coordinator,
    clock: options.clock,
    self,
    brokers: () => (options.brokers ? options.brokers(self) : Promise.resolve([self])),
    served: options.handlers.map((h) => h.api),
    token: options.token,
    log: options.log,
    relay: options.peers && relayTo(options.peers, internal, options.token, coordinator, options.log),
  };

  server.on('connection', (socket) => {
    sockets.add(socket);
    const connection: Connection = {
      id: nextConnectionId++,
      remoteAddress: `${socket.remoteAddress}:${socket.remotePort}`,
      clientId: null,
      authenticated: options.token === undefined,
    };
    serveConnection(socket, connection, context, handlers, options.log).finally(() => {
      sockets.delete(socket);
      connection.forwarding?.peer?.close();
    });
  });

  return {
    self,
    internal,
    url: `kafka://${self.host}:${self.port}`,
    close: async () => {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      // Waiting joins and syncs are answered NOT_COORDINATOR before their connections go.
      await coordinator.close();
      for (const socket of sockets) socket.destroy();
      await closed;
    },
  };
}

/** Splits a socket's bytes into frames and serves them one after another until the socket closes. */
async function serveConnection(
  socket: Socket,
  connection: Connection,
  context: KafkaContext,
  handlers: Map<number, Handler>,
  log: Logger,
): Promise<void> {
  const abort = new AbortController();
  const frames: Buffer[] = [];
  let pending: Buffer[] = [];
  let pendingBytes = 0;
  let wake: (() => void) | undefined;
  let ended = false;
  // The size of the frame being gathered, once its 4 bytes have arrived; a frame's chunks are joined
  // once, when it is whole (joining on every chunk would copy a large Produce over and over).
  let size = -1;
  socket.on('data', (chunk: Buffer) => {
    pending.push(chunk);
    pendingBytes += chunk.length;
    for (;;) {
      if (size === -1) {
        if (pendingBytes < 4) break;
        const first = pending[0] as Buffer;
        size = (first.length >= 4 ? first : Buffer.concat(pending)).readInt32BE(0);
        const limit = connection.authenticated ? MAX_FRAME_BYTES : MAX_UNAUTHENTICATED_FRAME_BYTES;
        if (size < 0 || size > limit) {
          log.warn('kafka: frame size out of bounds; closing the connection', {
            size,
            limit,
            connection: connection.id,
          });
          socket.destroy();
          return;
        }
      }
      if (pendingBytes < 4 + size) break;
      const whole = pending.length === 1 ? (pending[0] as Buffer) : Buffer.concat(pending, pendingBytes);
      frames.push(whole.subarray(4, 4 + size));
      const rest = whole.subarray(4 + size);
      pending = rest.length > 0 ? [rest] : [];
      pendingBytes = rest.length;
      size = -1;
    }
    // One request is served at a time; stop reading while several wait, so a client cannot queue unboundedly.
    if (frames.length > 8) socket.pause();
    wake?.();
  });
  const stop = () => {
    ended = true;
    abort.abort();
    wake?.();
  };
  socket.on('close', stop);
  socket.on('error', stop);

  while (!ended) {
    const frame = frames.shift();
    if (frame === undefined) {
      socket.resume();
      await new Promise<void>((resolve) => {
        wake = resolve;
      });
      wake = undefined;
      continue;
    }
    try {
      const response = await serveFrame(frame, connection, context, handlers, abort.signal);
      if (response !== null && !socket.destroyed) {
        socket.cork();
        for (const chunk of response) socket.write(chunk);
        socket.uncork();
        // The next request waits until this response is on its way, so the responses of a client
        // that does not read them are not buffered here without bound.
        if (socket.writableNeedDrain) await drained(socket);
      }
      if (connection.closeAfterResponse) {
        socket.end(() => socket.destroy());
        return;
      }
    } catch (error) {
      if (error instanceof ProtocolError) {
        log.warn('kafka: closing the connection', {
          connection: connection.id,
          client: connection.clientId,
          error: error.message,
        });
      } else {
        log.error('kafka: internal error; closing the connection', {
          connection: connection.id,
          error: error instanceof Error ? error.message : String(error),
        });
      }
      socket.destroy();
      return;
    }
  }
}

/** Resolves once the socket's write buffer has drained, or the socket closed. */
function drained(socket: Socket): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      socket.off('drain', done);
      socket.off('close', done);
      resolve();
    };
    socket.on('drain', done);
    socket.on('close', done);
  });
}

/** One frame's response chunks, or null when none is due. Throws ProtocolError to close the connection. */
async function serveFrame(
  frame: Buffer,
  connection: Connection,
  context: KafkaContext,
  handlers: Map<number, Handler>,
  signal: AbortSignal,
): Promise<Buffer[] | null> {
  if (connection.rawSaslNext) {
    // SaslHandshake v0: a bare token, answered by a bare frame (empty on success).
    connection.rawSaslNext = false;
    if (!verifyPlain(frame, context.token)) throw new ProtocolError('SASL/PLAIN authentication failed');
    connection.authenticated = true;
    return [Buffer.alloc(4)];
  }
  const { header, reader } = readRequestHeader(frame);
  connection.clientId = header.clientId;
  const handler = handlers.get(header.apiKey);
  const api = handler?.api ?? APIS.get(header.apiKey);
  if (
    header.apiKey === ApiVersions.key &&
    (handler === undefined || !supports(ApiVersions, header.apiVersion))
  ) {
    // Too new to parse: answer at v0, naming the versions this listener speaks.
    const versions = ApiVersions.versions;
    return writeResponse(ApiVersions, 0, header.correlationId, {
      errorCode: KafkaError.UNSUPPORTED_VERSION,
      apiKeys: [{ apiKey: ApiVersions.key, minVersion: versions.min, maxVersion: versions.max }],
    });
  }
  if (handler === undefined || api === undefined || !supports(api, header.apiVersion)) {
    throw new ProtocolError(
      `${api?.name ?? `API key ${header.apiKey}`} v${header.apiVersion} is not served here`,
    );
  }
  if (!connection.authenticated && !SASL_APIS.has(api.key)) {
    throw new ProtocolError(`${api.name} before SASL authentication`);
  }
  const request = readRequestBody(api, header.apiVersion, reader);
  const from = forwardedFrom(header.clientId);
  if (from !== undefined) {
    connection.clientId = from.clientId;
    if (from.remoteAddress !== '') connection.remoteAddress = from.remoteAddress;
  } else if (context.relay !== undefined) {
    const group = forwardableGroup(api.key, header.apiVersion, request);
    const relayed =
      group === undefined ? undefined : await context.relay(group, frame, header, connection, signal);
    if (relayed !== undefined) return [relayed];
  }
  const body = await handler.handle(request as never, context, {
    version: header.apiVersion,
    connection,
    signal,
  });
  if (body === null) return null;
  return writeResponse(api, header.apiVersion, header.correlationId, body as Record<string, unknown>);
}

/**
 * Forwards a group request to the listener holding the group's lease elsewhere and resolves with its
 * response frame; undefined when it is answered here (no other live holder, or the forward failed:
 * this listener then answers NOT_COORDINATOR, as it does not hold the lease).
 */
function relayTo(
  peers: NonNullable<KafkaListenerOptions['peers']>,
  internal: { host: string; port: number },
  token: string | undefined,
  coordinator: GroupCoordinator,
  log: Logger,
): NonNullable<KafkaContext['relay']> {
  return async (group, frame, header, connection, signal) => {
    const holder = await coordinator.coordinatorElsewhere(group);
    if (holder === undefined) return undefined;
    const to = await peers(holder.nodeId);
    if (to === undefined || (to.host === internal.host && to.port === internal.port)) return undefined;
    connection.forwarding ??= {};
    try {
      return await forward(connection.forwarding, to, frame, header, connection.remoteAddress, token, signal);
    } catch (error) {
      // The client went away while its request waited at the coordinator: nothing to report.
      if (signal.aborted) return undefined;
      log.warn('kafka: forwarding a group request to its coordinator failed; answering it here', {
        connection: connection.id,
        group,
        coordinator: holder.nodeId,
        error: error instanceof Error ? error.message : String(error),
      });
      return undefined;
    }
  };
}

function supports(api: Api, version: number): boolean {
  return version >= api.versions.min && version <= api.versions.max;
}

/**
 * SASL/PLAIN (RFC 4616): `authzid NUL authcid NUL passwd`. Any user name but none; the password is
 * the server's token (any password where there is none). Compared in constant time.
 */
export function verifyPlain(token: Uint8Array, expected: string | undefined): boolean {
  const parts = Buffer.from(token).toString('utf8').split('\0');
  if (parts.length !== 3 || parts[1] === '') return false;
  if (expected === undefined) return true;
  const given = Buffer.from(parts[2] as string);
  const want = Buffer.from(expected);
  return given.length === want.length && timingSafeEqual(given, want);
}
