/**
 * Kafka frames: a request is `int32 size, request header, body`; a response `int32 size, response
 * header, body`.
 *
 *   request header v1   int16 api_key, int16 api_version, int32 correlation_id, string client_id
 *   request header v2   v1, then a tag buffer (flexible request versions)
 *   response header v0  int32 correlation_id
 *   response header v1  v0, then a tag buffer (flexible response versions)
 *
 * client_id stays a classic (int16) nullable string even in header v2. ApiVersions answers with
 * response header v0 at every version, so a client can read the answer before it knows what the
 * broker speaks.
 */
import { ProtocolError, Reader, Writer } from './codec.ts';
import * as messages from './messages.ts';
import { type Api, readStruct, writeStruct } from './schema.ts';

/** Every API this listener speaks, by key. */
export const APIS: ReadonlyMap<number, Api> = new Map(
  Object.values(messages).map((message) => [message.key, message as Api]),
);

export interface RequestHeader {
  apiKey: number;
  apiVersion: number;
  correlationId: number;
  clientId: string | null;
}

export function isFlexible(api: Api, version: number): boolean {
  return version >= api.flexibleFrom;
}

/** Reads the fixed part of a request header: enough to route, or to answer an unsupported version. */
export function readRequestHeader(frame: Buffer): { header: RequestHeader; reader: Reader } {
  const reader = new Reader(frame);
  const header = {
    apiKey: reader.int16(),
    apiVersion: reader.int16(),
    correlationId: reader.int32(),
    clientId: reader.string(false),
  };
  return { header, reader };
}

/** Reads the rest of a request (header v2's tag buffer, then the body) of a supported version. */
export function readRequestBody(api: Api, version: number, reader: Reader): Record<string, unknown> {
  const flexible = isFlexible(api, version);
  if (flexible) readStruct(reader, [], version, true);
  const body = readStruct(reader, api.request, version, flexible);
  if (reader.remaining !== 0) {
    throw new ProtocolError(`${api.name} v${version} request has ${reader.remaining} bytes after its body`);
  }
  return body;
}

/** A whole response frame as chunks (size prefix first), ready for the socket. */
export function writeResponse(
  api: Api,
  version: number,
  correlationId: number,
  body: Record<string, unknown>,
): Buffer[] {
  const flexible = isFlexible(api, version);
  const writer = new Writer();
  writer.int32(0); // size, patched below
  writer.int32(correlationId);
  // ApiVersions answers with header v0 at every version (see above).
  if (flexible && api.key !== messages.ApiVersions.key) writer.uvarint(0);
  writeStruct(writer, api.response, body, version, flexible);
  const chunks = writer.finish();
  const size = chunks.reduce((sum, chunk) => sum + chunk.length, 0) - 4;
  (chunks[0] as Buffer).writeInt32BE(size, 0);
  return chunks;
}

/** Writes a request frame, as a client does: for tests and for the listener's own probes. */
export function writeRequest(
  api: Api,
  version: number,
  header: { correlationId: number; clientId: string | null },
  body: Record<string, unknown>,
): Buffer {
  const flexible = isFlexible(api, version);
  const writer = new Writer();
  writer.int32(0);
  writer.int16(api.key);
  writer.int16(version);
  writer.int32(header.correlationId);
  writer.string(header.clientId, false);
  if (flexible) writer.uvarint(0);
  writeStruct(writer, api.request, body, version, flexible);
  const frame = Buffer.concat(writer.finish());
  frame.writeInt32BE(frame.length - 4, 0);
  return frame;
}

/** Reads a response frame's body (after its size prefix), as a client does: for tests. */
export function readResponse(
  api: Api,
  version: number,
  frame: Buffer,
): { correlationId: number; body: Record<string, unknown> } {
  const reader = new Reader(frame);
  const correlationId = reader.int32();
  const flexible = isFlexible(api, version);
  if (flexible && api.key !== messages.ApiVersions.key) readStruct(reader, [], version, true);
  const body = readStruct(reader, api.response, version, flexible);
  if (reader.remaining !== 0) {
    throw new ProtocolError(`${api.name} v${version} response has ${reader.remaining} bytes after its body`);
  }
  return { correlationId, body };
}
