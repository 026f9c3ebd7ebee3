/**
 * The CLI with Avro against a local server: `produce --value-schema-file` registers the schema and
 * writes each stdin line as a Confluent Avro record; `consume --avro` decodes them by schema id and
 * prints them as JSON — with and without a group. Bad input fails with one clear line.
 */

import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import avro from 'avsc';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SchemaRegistryClient, Streambed } from '../../client/index.ts';
import { type LocalServer, startLocalServer } from '../../lambdas/runtime/local-server.ts';
import { runCli } from '../support/cli-server.ts';

let server: LocalServer;
let dir: string;
beforeAll(async () => {
  server = await startLocalServer({ port: 0, memory: true });
  dir = mkdtempSync(join(tmpdir(), 'streambed-cli-avro-'));
});
afterAll(async () => {
  await server.close();
  rmSync(dir, { recursive: true, force: true });
});

const cli = (args: string[], stdin = '') => runCli(server.url, args, stdin);

const schema = {
  type: 'record',
  name: 'Click',
  namespace: 'web',
  fields: [
    { name: 'user', type: 'string' },
    { name: 'at', type: 'long' },
    { name: 'referrer', type: ['null', 'string'], default: null },
  ],
};
const type = avro.Type.forSchema(schema as avro.Schema);

describe('streambed CLI with Avro', () => {
  it('produces JSON lines as Avro and consumes them back as JSON, with and without a group', async () => {
    // Prepare
    const schemaFile = join(dir, 'click.avsc');
    writeFileSync(schemaFile, JSON.stringify(schema, null, 2));
    await new Streambed({ url: server.url }).admin().createTopic({ topic: 'clicks', numPartitions: 1 });
    const lines = [
      // Avro's JSON encoding (unions wrapped), as Confluent's console tools write it...
      '{"user":"ada","at":1,"referrer":{"string":"https://example.com"}}',
      '{"user":"bob","at":2,"referrer":null}',
      // ...or plain JSON, unions unwrapped and defaults filled in.
      '{"user":"cy","at":3,"referrer":"search"}',
      '{"user":"dee","at":4}',
    ];
    const expected = [
      { user: 'ada', at: 1, referrer: 'https://example.com' },
      { user: 'bob', at: 2, referrer: null },
      { user: 'cy', at: 3, referrer: 'search' },
      { user: 'dee', at: 4, referrer: null },
    ].map((value) => type.toString(value));
    // Act
    const produced = await cli(
      ['produce', 'clicks', '--value-schema-file', schemaFile],
      `${lines.join('\n')}\n`,
    );
    const consumed = await cli(['consume', 'clicks', '--avro', '--from-beginning', '--max-messages', '4']);
    const grouped = await cli([
      'consume',
      'clicks',
      '--avro',
      '--group',
      'cli-readers',
      '--from-beginning',
      '--max-messages',
      '4',
    ]);
    // Assess
    expect(produced.code, produced.stderr).toBe(0);
    expect(produced.stderr).toMatch(/produced 4 records/);
    expect(consumed.code, consumed.stderr).toBe(0);
    expect(consumed.stdout.trim().split('\n')).toEqual(expected);
    expect(grouped.code, grouped.stderr).toBe(0);
    expect(grouped.stdout.trim().split('\n')).toEqual(expected);
    // The schema was registered under the default subject <topic>-value.
    const registry = new SchemaRegistryClient({ url: server.url });
    expect(JSON.parse(await registry.getSchema((await registry.version('clicks-value')).id))).toEqual(schema);
  }, 60_000);

  it('registers under --subject and fails on a line that is not a record of the schema', async () => {
    // Prepare
    const schemaFile = join(dir, 'click2.avsc');
    writeFileSync(schemaFile, JSON.stringify(schema));
    await new Streambed({ url: server.url }).admin().createTopic({ topic: 'bad-clicks', numPartitions: 1 });
    // Act
    const produced = await cli(
      ['produce', 'bad-clicks', '--value-schema-file', schemaFile, '--subject', 'web.Click'],
      '{"user":"ada","at":1}\n{"user":"bob","at":"yesterday"}\n',
    );
    const missingFile = await cli(['produce', 'bad-clicks', '--value-schema-file', join(dir, 'none.avsc')]);
    // Assess
    expect(produced.code).toBe(1);
    expect(produced.stderr).toMatch(/^streambed: line 2: not a value of the schema/m);
    expect(missingFile.code).toBe(1);
    expect(missingFile.stderr).toMatch(/--value-schema-file: cannot read/);
    const registry = new SchemaRegistryClient({ url: server.url });
    expect((await registry.version('web.Click')).version).toBe(1);
  }, 60_000);

  it('fails consume --avro on a value that is not Confluent Avro, naming its partition and offset', async () => {
    // Prepare
    await cli(['topics', 'create', 'plain']);
    await cli(['produce', 'plain'], 'just text\n');
    // Act
    const consumed = await cli(['consume', 'plain', '--avro', '--from-beginning', '--max-messages', '1']);
    // Assess
    expect(consumed.code).toBe(1);
    expect(consumed.stderr).toMatch(
      /^streambed: plain\/0 offset 0: not a Confluent Avro value: expected magic byte 0/m,
    );
  }, 60_000);
});
