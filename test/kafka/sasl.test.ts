/**
 * SASL/PLAIN on the Kafka listener: the server token as password, by kcat (librdkafka), KafkaJS and
 * raw frames; what happens before authentication and after a refusal.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { Kafka, logLevel, type SASLOptions } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readResponse, writeRequest } from '../../lambdas/kafka/protocol/frames.ts';
import {
  ApiVersions,
  Metadata,
  SaslAuthenticate,
  SaslHandshake,
} from '../../lambdas/kafka/protocol/messages.ts';
import { exchange, type KafkaTestServer, startKafkaTestServer } from '../support/kafka-server.ts';

const run = promisify(execFile);
const TOKEN = 'sasl-test-token';
let secured: KafkaTestServer;
let open: KafkaTestServer;

beforeAll(async () => {
  [secured, open] = await Promise.all([startKafkaTestServer({ token: TOKEN }), startKafkaTestServer()]);
  const created = await fetch(`${secured.url}/v1/topics`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${TOKEN}` },
    body: JSON.stringify({ name: 'guarded', partitions: 2 }),
  });
  expect(created.status).toBe(201);
});
afterAll(() => Promise.all([secured.close(), open.close()]));

const plain = (password: string) => Buffer.from(`\0client\0${password}`);
const frame = (correlationId: number) => ({ correlationId, clientId: 'sasl-test' });

function kcat(password: string, ...args: string[]) {
  return run(
    'kcat',
    [
      ...['-b', secured.broker, '-X', 'security.protocol=SASL_PLAINTEXT', '-X', 'sasl.mechanisms=PLAIN'],
      ...['-X', 'sasl.username=someone', '-X', `sasl.password=${password}`],
      ...args,
    ],
    { timeout: 60_000 },
  );
}

async function topicsSeenByKafkaJS(server: KafkaTestServer, sasl: SASLOptions): Promise<string[]> {
  const admin = new Kafka({
    brokers: [server.broker],
    clientId: 'sasl-test',
    logLevel: logLevel.NOTHING,
    retry: { retries: 0 },
    sasl,
  }).admin();
  await admin.connect();
  try {
    return await admin.listTopics();
  } finally {
    await admin.disconnect();
  }
}

describe('SASL/PLAIN', () => {
  it('lets kcat list metadata with the token as password', async () => {
    const { stdout } = await kcat(TOKEN, '-L', '-m', '10');
    expect(stdout).toMatch(/topic "guarded" with 2 partitions/);
  });

  it('refuses kcat with a wrong password', async () => {
    const failed = await kcat('wrong', '-L', '-m', '3').then(
      () => undefined,
      (error: { stderr: string }) => error,
    );
    expect(failed?.stderr).toMatch(/Authentication failed/);
  });

  it('lets KafkaJS in with the token (SaslAuthenticate) and refuses a wrong password', async () => {
    expect(
      await topicsSeenByKafkaJS(secured, { mechanism: 'plain', username: 'u', password: TOKEN }),
    ).toContain('guarded');
    await expect(
      topicsSeenByKafkaJS(secured, { mechanism: 'plain', username: 'u', password: 'wrong' }),
    ).rejects.toMatchObject({ name: 'KafkaJSSASLAuthenticationError' });
  });

  it('accepts any password where the server has no token', async () => {
    const topics = await topicsSeenByKafkaJS(open, { mechanism: 'plain', username: 'u', password: 'any' });
    expect(topics).toEqual([]);
  });

  it.each([
    ['without a user name', Buffer.from('\0\0any')],
    ['that is not authzid NUL authcid NUL passwd', Buffer.from('client:any')],
  ])('refuses a PLAIN message %s even where the server has no token', async (_what, authBytes) => {
    const { responses, closed } = await exchange(
      open.broker,
      [
        writeRequest(SaslHandshake, 1, frame(1), { mechanism: 'PLAIN' }),
        writeRequest(SaslAuthenticate, 2, frame(2), { authBytes }),
        writeRequest(ApiVersions, 3, frame(3), {}),
      ],
      3,
    );
    expect(closed).toBe(true);
    expect(readResponse(SaslAuthenticate, 2, responses[1] as Buffer).body.errorCode).toBe(58);
  });

  it('closes the connection on a request before authentication', async () => {
    const { responses, closed } = await exchange(
      secured.broker,
      [writeRequest(Metadata, 9, frame(1), { topics: null })],
      1,
    );
    expect(closed).toBe(true);
    expect(responses).toEqual([]);
  });

  it('authenticates a connection with SaslHandshake v1 and SaslAuthenticate v2, then serves it', async () => {
    const { responses, closed } = await exchange(
      secured.broker,
      [
        writeRequest(SaslHandshake, 1, frame(1), { mechanism: 'PLAIN' }),
        writeRequest(SaslAuthenticate, 2, frame(2), { authBytes: plain(TOKEN) }),
        writeRequest(Metadata, 9, frame(3), { topics: null }),
      ],
      3,
    );
    expect(closed).toBe(false);
    const [handshake, authenticate, metadata] = responses as [Buffer, Buffer, Buffer];
    expect(readResponse(SaslHandshake, 1, handshake).body).toEqual({ errorCode: 0, mechanisms: ['PLAIN'] });
    expect(readResponse(SaslAuthenticate, 2, authenticate).body).toEqual({
      errorCode: 0,
      errorMessage: null,
      authBytes: Buffer.alloc(0),
      sessionLifetimeMs: 0,
    });
    const topics = readResponse(Metadata, 9, metadata).body.topics as { name: string }[];
    expect(topics.map((topic) => topic.name)).toEqual(['guarded']);
  });

  it('answers a wrong password with SASL_AUTHENTICATION_FAILED, then closes the connection', async () => {
    const { responses, closed } = await exchange(
      secured.broker,
      [
        writeRequest(SaslHandshake, 1, frame(1), { mechanism: 'PLAIN' }),
        writeRequest(SaslAuthenticate, 1, frame(2), { authBytes: plain('wrong') }),
        // Served before authentication on an open connection: only a closed one leaves it unanswered.
        writeRequest(ApiVersions, 3, frame(3), {}),
      ],
      3,
    );
    expect(closed).toBe(true);
    expect(responses).toHaveLength(2);
    const { body } = readResponse(SaslAuthenticate, 1, responses[1] as Buffer);
    expect(body.errorCode).toBe(58);
    expect(body.errorMessage).toMatch(/^Authentication failed: invalid username or password/);
  });

  it('answers a mechanism other than PLAIN with the enabled ones, then closes the connection', async () => {
    const { responses, closed } = await exchange(
      secured.broker,
      [
        writeRequest(SaslHandshake, 1, frame(1), { mechanism: 'SCRAM-SHA-256' }),
        writeRequest(ApiVersions, 3, frame(2), {}),
      ],
      2,
    );
    expect(closed).toBe(true);
    expect(responses).toHaveLength(1);
    expect(readResponse(SaslHandshake, 1, responses[0] as Buffer).body).toEqual({
      errorCode: 33,
      mechanisms: ['PLAIN'],
    });
  });

  it('answers SaslAuthenticate without a handshake with ILLEGAL_SASL_STATE, then closes', async () => {
    const { responses, closed } = await exchange(
      secured.broker,
      [
        writeRequest(SaslAuthenticate, 0, frame(1), { authBytes: plain(TOKEN) }),
        writeRequest(ApiVersions, 3, frame(2), {}),
      ],
      2,
    );
    expect(closed).toBe(true);
    expect(responses).toHaveLength(1);
    expect(readResponse(SaslAuthenticate, 0, responses[0] as Buffer).body.errorCode).toBe(34);
  });

  it('takes a bare token after SaslHandshake v0', async () => {
    const token = plain(TOKEN);
    const bare = Buffer.alloc(4 + token.length);
    bare.writeInt32BE(token.length, 0);
    token.copy(bare, 4);
    const { responses, closed } = await exchange(
      secured.broker,
      [
        writeRequest(SaslHandshake, 0, frame(1), { mechanism: 'PLAIN' }),
        bare,
        writeRequest(Metadata, 9, frame(2), { topics: null }),
      ],
      3,
    );
    expect(closed).toBe(false);
    expect(responses[1]).toEqual(Buffer.alloc(0));
    expect(readResponse(Metadata, 9, responses[2] as Buffer).body.topics).toHaveLength(1);
  });
});
