/**
 * The Kafka codec: every message of every advertised version reads back what was written (property
 * tests over the schemas), and frames agree with KafkaJS's own encoders and decoders.
 */
import { createRequire } from 'node:module';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ProtocolError, Reader, Writer } from '../../lambdas/kafka/protocol/codec.ts';
import {
  APIS,
  isFlexible,
  readRequestBody,
  readRequestHeader,
  writeResponse,
} from '../../lambdas/kafka/protocol/frames.ts';
import { Fetch, Metadata } from '../../lambdas/kafka/protocol/messages.ts';
import { type Field, type Primitive, readStruct, writeStruct } from '../../lambdas/kafka/protocol/schema.ts';

const require = createRequire(import.meta.url);

function within(range: { min: number; max: number } | undefined, version: number): boolean {
  return range !== undefined && version >= range.min && version <= range.max;
}

function primitive(type: Primitive): fc.Arbitrary<unknown> {
  switch (type) {
    case 'int8':
      return fc.integer({ min: -128, max: 127 });
    case 'int16':
      return fc.integer({ min: -32768, max: 32767 });
    case 'uint16':
      return fc.integer({ min: 0, max: 65535 });
    case 'int32':
      return fc.integer();
    case 'int64':
      return fc.maxSafeInteger();
    case 'float64':
      return fc.double({ noNaN: true });
    case 'bool':
      return fc.boolean();
    case 'string':
      return fc.string({ maxLength: 20, unit: 'grapheme' });
    case 'uuid':
      return fc
        .uint8Array({ minLength: 16, maxLength: 16 })
        .map((bytes) => Buffer.from(bytes).toString('hex'));
    default:
      return fc.uint8Array({ maxLength: 40 }).map((bytes) => Buffer.from(bytes));
  }
}

/** Values for the fields that exist at `version` (tagged ones only where the version is flexible). */
function message(
  fields: readonly Field[],
  version: number,
  flexible: boolean,
): fc.Arbitrary<Record<string, unknown>> {
  const shape: Record<string, fc.Arbitrary<unknown>> = {};
  for (const f of fields) {
    if (!within(f.versions, version) || (f.tag !== undefined && !flexible)) continue;
    let value: fc.Arbitrary<unknown>;
    if (f.kind === 'scalar') value = primitive(f.type);
    else if (f.kind === 'scalars') value = fc.array(primitive(f.type), { maxLength: 3 });
    else if (f.kind === 'struct') value = message(f.fields, version, flexible);
    else value = fc.array(message(f.fields, version, flexible), { maxLength: 2 });
    shape[f.name] = within(f.nullable, version) ? fc.option(value, { nil: null }) : value;
  }
  return fc.record(shape);
}

/** `decoded` restricted to the fields `written` has, recursively. */
function sameShape(decoded: unknown, written: unknown): unknown {
  if (Array.isArray(written)) return (decoded as unknown[]).map((item, i) => sameShape(item, written[i]));
  if (written === null || typeof written !== 'object' || Buffer.isBuffer(written)) return decoded;
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(written))
    out[key] = sameShape(
      (decoded as Record<string, unknown>)[key],
      (written as Record<string, unknown>)[key],
    );
  return out;
}

function roundTrip(
  fields: readonly Field[],
  value: Record<string, unknown>,
  version: number,
  flexible: boolean,
) {
  const writer = new Writer();
  writeStruct(writer, fields, value, version, flexible);
  const bytes = Buffer.concat(writer.finish());
  const reader = new Reader(bytes);
  const decoded = readStruct(reader, fields, version, flexible);
  expect(reader.remaining).toBe(0);
  return decoded;
}

describe('the Kafka codec', () => {
  for (const api of APIS.values()) {
    for (let version = api.versions.min; version <= api.versions.max; version++) {
      const flexible = isFlexible(api, version);
      it(`reads back ${api.name} v${version} requests and responses as written`, () => {
        for (const fields of [api.request, api.response]) {
          fc.assert(
            fc.property(message(fields, version, flexible), (value) => {
              expect(sameShape(roundTrip(fields, value, version, flexible), value)).toEqual(value);
            }),
            { numRuns: 25 },
          );
        }
      });
    }
  }

  it('fills the fields a version lacks with their defaults', () => {
    const decoded = roundTrip(Fetch.request, { topics: [] }, 4, false);
    expect(decoded.maxBytes).toBe(2147483647);
    expect(decoded.sessionEpoch).toBe(-1);
    expect(decoded.rackId).toBe('');
  });

  it('skips tagged fields it does not know, and reads those it does', () => {
    const bytes = Buffer.from([
      0x01, // topics: compact array of 0
      0x01, // allowAutoTopicCreation
      0x00, // includeTopicAuthorizedOperations
      0x01, // one tagged field
      0x07, // tag 7, unknown
      0x02, // size 2
      0xaa,
      0xbb,
    ]);
    const reader = new Reader(bytes);
    const decoded = readStruct(reader, Metadata.request, 11, true);
    expect(reader.remaining).toBe(0);
    expect(decoded.topics).toEqual([]);
    expect(decoded.allowAutoTopicCreation).toBe(true);
  });

  it.each([
    ['a string longer than the frame', Buffer.from([0x00, 0x10, 0x61])],
    ['an array count beyond the bytes left', Buffer.from([0x7f, 0xff, 0xff, 0xff])],
    ['a negative length other than -1', Buffer.from([0xff, 0xfe])],
  ])('refuses %s', (_what, bytes) => {
    const reader = new Reader(bytes);
    expect(() => (bytes.length === 4 ? reader.arrayLength(false) : reader.string(false))).toThrow(
      ProtocolError,
    );
  });

  it('reads a Fetch v11 request as KafkaJS writes it', async () => {
    // Prepare
    const build = require('kafkajs/src/protocol/requests/fetch/v11/request');
    const encodeFrame = require('kafkajs/src/protocol/request');
    const request = build({
      replicaId: -1,
      maxWaitTime: 5000,
      minBytes: 1,
      maxBytes: 10485760,
      topics: [{ topic: 'orders', partitions: [{ partition: 2, fetchOffset: '42', maxBytes: 1048576 }] }],
    });
    const frame: Buffer = (await encodeFrame({ correlationId: 9, clientId: 'kjs', request })).buffer;
    // Act
    const { header, reader } = readRequestHeader(frame.subarray(4));
    const body = readRequestBody(Fetch, header.apiVersion, reader);
    // Assess
    expect(header).toEqual({ apiKey: 1, apiVersion: 11, correlationId: 9, clientId: 'kjs' });
    expect(body).toMatchObject({
      maxWaitMs: 5000,
      minBytes: 1,
      maxBytes: 10485760,
      isolationLevel: 1,
      topics: [
        { topic: 'orders', partitions: [{ partition: 2, fetchOffset: 42, partitionMaxBytes: 1048576 }] },
      ],
    });
  });

  it('writes a Metadata v6 response KafkaJS reads', async () => {
    // Prepare
    const { decode, parse } = require('kafkajs/src/protocol/requests/metadata/v6/response');
    const chunks = writeResponse(Metadata, 6, 3, {
      brokers: [{ nodeId: 0, host: 'localhost', port: 9092, rack: null }],
      clusterId: 'streambed',
      controllerId: 0,
      topics: [
        {
          errorCode: 0,
          name: 'orders',
          partitions: [
            {
              errorCode: 0,
              partitionIndex: 0,
              leaderId: 0,
              replicaNodes: [0],
              isrNodes: [0],
              offlineReplicas: [],
            },
          ],
        },
      ],
    });
    const frame = Buffer.concat(chunks);
    // Act: KafkaJS decodes the body after the size and correlation id
    const decoded = await parse(await decode(frame.subarray(8)));
    // Assess
    expect(frame.readInt32BE(0)).toBe(frame.length - 4);
    expect(decoded.controllerId).toBe(0);
    expect(decoded.brokers).toEqual([{ nodeId: 0, host: 'localhost', port: 9092, rack: null }]);
    expect(decoded.topicMetadata[0].topic).toBe('orders');
    expect(decoded.topicMetadata[0].partitionMetadata[0]).toMatchObject({ partitionId: 0, leader: 0 });
  });
});
