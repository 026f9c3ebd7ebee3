/**
 * Group requests forwarded to the group's coordinator (DESIGN §13): where several listeners share one
 * advertised address (gateways behind one load balancer), a client told to reach the coordinator
 * lands on any of them. A listener that receives a group request for a group whose lease another live
 * listener holds sends it on to that listener's internal address, over a Kafka connection of its own,
 * and relays the answer as it came.
 *
 * Invariants:
 * - One forwarding connection per client connection, opened on its first forwarded request (SASL/PLAIN
 *   with the token where one is set) and closed with it, even while it is still connecting or
 *   authenticating: requests on a client connection are served one at a time, so its forwarded ones
 *   never wait behind another client's long JoinGroup.
 * - A forwarded request carries a marked client id (the client's own, and where it connected from), so
 *   the coordinator names the member as the client does and never forwards it again.
 * - A forward that fails (the coordinator is gone, the connection broke, or the coordinator is silent for
 *   CONNECT_TIMEOUT_MS before the connection is authenticated) is answered here instead: this
 *   listener does not hold the lease, so the group's request answers NOT_COORDINATOR and the client
 *   looks the coordinator up again. The forwarding connection is closed; the next opens anew.
 */
import { connect, type Socket } from 'node:net';
import { ProtocolError, Writer } from './protocol/codec.ts';
import { type RequestHeader, readResponse, writeRequest } from './protocol/frames.ts';
import {
  DescribeGroups,
  Heartbeat,
  JoinGroup,
  LeaveGroup,
  OffsetCommit,
  OffsetFetch,
  SaslAuthenticate,
  SaslHandshake,
  SyncGroup,
} from './protocol/messages.ts';

/** How long opening a forwarding connection may take. */
const CONNECT_TIMEOUT_MS = 5_000;
/** Starts the client id of a forwarded request: `MARK clientAddress NUL clientId`. */
const MARK = '\u0000streambed-forwarded\u0000';
/** The client id of a forwarding connection's own requests (its SASL exchange). */
const FORWARDER_CLIENT_ID = `${MARK}\u0000streambed-forwarder`;

/** A group request that arrived forwarded: the client's own id and address. */
export interface ForwardedFrom {
  clientId: string;
  remoteAddress: string;
}

/** The client id a forwarded request carries: the client's own, and where it connected from. */
export function forwardedClientId(remoteAddress: string, clientId: string | null): string {
  return `${MARK}${remoteAddress}\u0000${clientId ?? ''}`;
}

/** The client and address a forwarded request names, or undefined for one straight from a client. */
export function forwardedFrom(clientId: string | null): ForwardedFrom | undefined {
  if (clientId === null || !clientId.startsWith(MARK)) return undefined;
  const rest = clientId.slice(MARK.length);
  const end = rest.indexOf('\u0000');
  return end < 0
    ? { remoteAddress: '', clientId: rest }
    : { remoteAddress: rest.slice(0, end), clientId: rest.slice(end + 1) };
}

const SINGLE_GROUP_APIS = new Set<number>([
  JoinGroup.key,
  SyncGroup.key,
  Heartbeat.key,
  LeaveGroup.key,
  OffsetCommit.key,
]);

/** The one group a request is about, where it is one that the group's coordinator answers. */
export function forwardableGroup(
  apiKey: number,
  version: number,
  request: Record<string, unknown>,
): string | undefined {
  if (SINGLE_GROUP_APIS.has(apiKey)) return request.groupId as string;
  if (apiKey === OffsetFetch.key) {
    if (version < 8) return request.groupId as string;
    const groups = request.groups as { groupId: string }[];
    return groups.length === 1 ? groups[0]?.groupId : undefined;
  }
  if (apiKey === DescribeGroups.key) {
    const groups = request.groups as string[];
    return groups.length === 1 ? groups[0] : undefined;
  }
  return undefined;
}

/**
 * A request frame as the listener read it (no size prefix) with its client id replaced, every other
 * byte as it came, ready to send (size prefix first).
 */
export function withClientId(frame: Buffer, clientId: string): Buffer {
  const length = frame.readInt16BE(8);
  const rest = frame.subarray(10 + Math.max(0, length));
  const writer = new Writer();
  writer.string(clientId, false);
  const id = Buffer.concat(writer.finish());
  const out = Buffer.concat([Buffer.alloc(4), frame.subarray(0, 8), id, rest]);
  out.writeInt32BE(out.length - 4, 0);
  return out;
}

/** A Kafka connection to another listener: one request at a time, answered by its response frame. */
export class PeerConnection {
  private buffered: Buffer = Buffer.alloc(0);
  private waiting?: { resolve: (frame: Buffer) => void; reject: (error: Error) => void };
  private failure?: Error;

  private constructor(
    readonly address: string,
    private readonly socket: Socket,
  ) {
    socket.on('data', (chunk: Buffer) => {
      this.buffered = this.buffered.length === 0 ? chunk : Buffer.concat([this.buffered, chunk]);
      while (this.buffered.length >= 4 && this.buffered.length >= 4 + this.buffered.readInt32BE(0)) {
        const frame = this.buffered.subarray(0, 4 + this.buffered.readInt32BE(0));
        this.buffered = this.buffered.subarray(frame.length);
        const waiting = this.waiting;
        this.waiting = undefined;
        waiting?.resolve(frame);
      }
    });
    const fail = (error?: Error) => {
      this.failure ??= error ?? new Error(`the connection to ${address} closed`);
      this.waiting?.reject(this.failure);
      this.waiting = undefined;
    };
    socket.on('error', fail);
    socket.on('close', () => fail());
  }

  /**
   * Connects to `address`, authenticating with SASL/PLAIN and `token` where one is set; gives up when
   * `signal` aborts (the client left) or the peer goes silent before it is authenticated.
   */
  static async open(
    address: { host: string; port: number },
    token: string | undefined,
    signal?: AbortSignal,
  ) {
    const name = `${address.host}:${address.port}`;
    signal?.throwIfAborted();
    const socket = connect({ host: address.host, port: address.port, noDelay: true });
    const abort = () => socket.destroy(new Error(`the client left before ${name} was reached`));
    signal?.addEventListener('abort', abort, { once: true });
    // A listener that is gone may not refuse, only never answer: give up well before a client does.
    socket.setTimeout(CONNECT_TIMEOUT_MS, () =>
      socket.destroy(new Error(`no connection to ${name} within ${CONNECT_TIMEOUT_MS} ms`)),
    );
    try {
      await new Promise<void>((resolve, reject) => {
        socket.once('connect', resolve);
        socket.once('error', reject);
      });
      const peer = new PeerConnection(name, socket);
      if (token !== undefined) {
        try {
          await peer.authenticate(token);
        } catch (error) {
          peer.close();
          throw error;
        }
      }
      // Authenticated: from here a request may rightly wait long (a JoinGroup), so no idle limit.
      socket.setTimeout(0);
      return peer;
    } finally {
      signal?.removeEventListener('abort', abort);
    }
  }

  /** Sends one request frame (size prefix included) and resolves with its response frame, likewise. */
  request(frame: Buffer, signal?: AbortSignal): Promise<Buffer> {
    if (this.failure !== undefined) return Promise.reject(this.failure);
    if (this.waiting !== undefined)
      return Promise.reject(new Error('a forwarded request is already waiting'));
    return new Promise<Buffer>((resolve, reject) => {
      const abort = () => this.close();
      signal?.addEventListener('abort', abort, { once: true });
      this.waiting = {
        resolve: (response) => {
          signal?.removeEventListener('abort', abort);
          resolve(response);
        },
        reject: (error) => {
          signal?.removeEventListener('abort', abort);
          reject(error);
        },
      };
      this.socket.write(frame);
    });
  }

  close(): void {
    this.socket.destroy();
  }

  private async authenticate(token: string): Promise<void> {
    const header = (correlationId: number) => ({ correlationId, clientId: FORWARDER_CLIENT_ID });
    const handshake = await this.request(writeRequest(SaslHandshake, 1, header(1), { mechanism: 'PLAIN' }));
    const chose = readResponse(SaslHandshake, 1, handshake.subarray(4)).body;
    if (chose.errorCode !== 0)
      throw new ProtocolError(`${this.address} refused SASL/PLAIN (${chose.errorCode})`);
    const plain = Buffer.from(`\u0000streambed-forwarder\u0000${token}`);
    const answer = await this.request(writeRequest(SaslAuthenticate, 1, header(2), { authBytes: plain }));
    const authenticated = readResponse(SaslAuthenticate, 1, answer.subarray(4)).body;
    if (authenticated.errorCode !== 0) {
      throw new ProtocolError(`${this.address} refused the token (${authenticated.errorMessage})`);
    }
  }
}

/** What a client connection keeps for forwarding: its connection to the coordinator it last reached. */
export interface ForwardingState {
  peer?: PeerConnection;
}

/**
 * Forwards one group request frame (size prefix excluded, as the listener read it) to `to` over the
 * client connection's forwarding connection, and resolves with the response frame; rejects when that
 * fails, the forwarding connection then closed.
 */
export async function forward(
  state: ForwardingState,
  to: { host: string; port: number },
  frame: Buffer,
  header: RequestHeader,
  remoteAddress: string,
  token: string | undefined,
  signal: AbortSignal,
): Promise<Buffer> {
  const address = `${to.host}:${to.port}`;
  if (state.peer !== undefined && state.peer.address !== address) {
    state.peer.close();
    state.peer = undefined;
  }
  try {
    state.peer ??= await PeerConnection.open(to, token, signal);
    const marked = withClientId(frame, forwardedClientId(remoteAddress, header.clientId));
    return await state.peer.request(marked, signal);
  } catch (error) {
    state.peer?.close();
    state.peer = undefined;
    throw error;
  }
}
