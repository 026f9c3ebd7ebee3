/**
 * The janitor keeps how its last completed pass went (`janitor / last-run`), which `GET /v1/janitor`
 * answers: nothing before the first pass, then the latest pass's time and counts, failures included.
 */
import { describe, expect, it } from 'vitest';
import { StreamError } from '../../lambdas/core/errors.ts';
import { createJanitor } from '../../lambdas/core/janitor.ts';
import { JANITOR_LAST_RUN_KEY } from '../../lambdas/core/layout.ts';
import { janitorRoutes } from '../../lambdas/http/janitor-routes.ts';
import { createRouter } from '../../lambdas/http/router.ts';
import type { HttpRequest } from '../../lambdas/http/types.ts';
import { ManualClock } from '../../lambdas/ports/clock.ts';
import { logFixture, record } from '../support/log-fixture.ts';
import { TappedMetaStore } from '../support/tapped-stores.ts';

function world() {
  const clock = new ManualClock(Date.UTC(2026, 0, 1));
  const meta = new TappedMetaStore(clock);
  const fixture = logFixture({ clock, meta });
  const janitor = createJanitor(fixture, { owner: 'janitor-1', compactAfterMs: 5_000, graceMs: 1_000 });
  const router = createRouter({
    topics: fixture.topics,
    log: fixture.log,
    routeTables: [janitorRoutes(janitor)],
    auth: (request) => request.headers.authorization === 'Bearer sesame',
  });
  const get = async (query: Record<string, string> = {}, token = 'sesame') => {
    const request: HttpRequest = {
      method: 'GET',
      path: '/v1/janitor',
      query: new URLSearchParams(query),
      headers: { authorization: `Bearer ${token}` },
      body: new Uint8Array(),
    };
    const response = await router(request);
    const body = typeof response.body === 'string' ? response.body : new TextDecoder().decode(response.body);
    return { status: response.status, json: JSON.parse(body) };
  };
  return { ...fixture, clock, meta, janitor, get };
}

describe('janitor: the last run', () => {
  it('is null before any pass, then the last pass: when it finished and what it did', async () => {
    // Prepare: two partitions, one record each, past a minute's retention
    const { topics, log, clock, janitor, get } = world();
    await topics.createTopic('t', 2, { 'retention.ms': 60_000 });
    for (const partition of [0, 1]) await log.produce({ topic: 't', records: [record('x', { partition })] });
    clock.advance(5 * 60_000);
    const before = await get();
    // Act
    const started = clock.now();
    await janitor.runOnce();
    const first = await get();
    clock.advance(60_000);
    await janitor.runOnce();
    const second = await get();
    // Assess
    expect(before).toEqual({ status: 200, json: { lastRun: null } });
    expect(first.status).toBe(200);
    expect(first.json.lastRun).toEqual({
      startedAt: started,
      finishedAt: started,
      partitions: 2,
      skipped: 0,
      retainedBatches: 2,
      compactedBatches: 0,
      // The two objects those batches were in, unreferenced now and past the commit window
      deletedObjects: 2,
      deletedTopics: 0,
      failures: 0,
      incomplete: false,
    });
    expect(second.json.lastRun).toMatchObject({ finishedAt: started + 60_000, retainedBatches: 0 });
  });

  it('counts the failures of a pass that went on past a failed partition', async () => {
    // Prepare: reading partition 1's lease fails
    const { topics, log, janitor, meta, get } = world();
    await topics.createTopic('t', 2);
    await log.produce({ topic: 't', records: [record('x', { partition: 1 })] });
    const id = (await topics.requireTopic('t')).topicId;
    meta.tap = async (call) => {
      if (call.op === 'get' && call.key.pk === `part#${id}#1` && call.key.sk === 'lease')
        throw new StreamError('UNAVAILABLE', 'injected outage');
    };
    // Act
    await janitor.runOnce();
    meta.tap = undefined;
    // Assess
    expect((await get()).json.lastRun).toMatchObject({ partitions: 2, failures: 1, incomplete: true });
  });

  it('keeps the pass going when recording it fails, and reports that', async () => {
    // Prepare: the store refuses the last-run item
    const { topics, janitor, meta, get } = world();
    await topics.createTopic('t', 1);
    meta.tap = async (call) => {
      if (
        call.op === 'transact' &&
        call.ops.some((op) => op.type === 'put' && op.item.sk === JANITOR_LAST_RUN_KEY.sk)
      )
        throw new StreamError('UNAVAILABLE', 'injected outage');
    };
    // Act
    const report = await janitor.runOnce();
    meta.tap = undefined;
    // Assess
    expect(report.failures).toBe(1);
    expect(report.errors[0]).toMatchObject({ where: 'recording the pass', code: 'UNAVAILABLE' });
    expect((await get()).json).toEqual({ lastRun: null });
  });

  it('asks for credentials and refuses query parameters like every route', async () => {
    const { get } = world();
    expect((await get({}, 'wrong')).status).toBe(401);
    const refused = await get({ since: '1' });
    expect(refused.status).toBe(400);
    expect(refused.json.error.code).toBe('INVALID_REQUEST');
  });
});
