/** docs/kafka.md's table of APIs and versions is what ApiVersions advertises, no more and no less. */
import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { expect, it } from 'vitest';
import { HANDLERS } from '../../lambdas/kafka/handlers/index.ts';

it('lists every API the listener serves, with the versions it advertises', async () => {
  // Prepare
  const doc = await readFile(resolve(import.meta.dirname, '../../docs/kafka.md'), 'utf8');
  const section = doc.slice(
    doc.indexOf('## APIs and versions'),
    doc.indexOf('\n## ', doc.indexOf('## APIs and versions') + 1),
  );
  // Act
  const documented = [...section.matchAll(/^\| (\w+) +\| (\d+) +\| (\d+)–(\d+) +\|/gm)].map(
    ([, name, key, min, max]) => ({
      name,
      key: Number(key),
      min: Number(min),
      max: Number(max),
    }),
  );
  // Assess
  const served = HANDLERS.map(({ api }) => ({
    name: api.name,
    key: api.key,
    min: api.versions.min,
    max: api.versions.max,
  }));
  expect(documented.sort((a, b) => a.key - b.key)).toEqual(served.sort((a, b) => a.key - b.key));
});
