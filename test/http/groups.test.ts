/** The consumer group routes over a real local server (embedded backend, in memory). */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type LocalServer, startLocalServer } from '../../lambdas/runtime/local-server.ts';
import { jsonCaller } from '../support/json-call.ts';

let server: LocalServer;
beforeAll(async () => {
  server = await startLocalServer({ port: 0, memory: true });
});
afterAll(async () => server.close());

const call = jsonCaller(() => server.url);

describe('consumer group routes', () => {
  it('joins, heartbeats, commits, describes with lag, fences a zombie and leaves', async () => {
    // Prepare
    await call('POST', '/v1/topics', { name: 'clicks', partitions: 2 });
    await call('POST', '/v1/topics/clicks/records', {
      records: [
        { value: 'a', partition: 0 },
        { value: 'b', partition: 0 },
      ],
    });
    // Act
    const joined = await call('POST', '/v1/groups/readers/members', {
      topics: ['clicks'],
      sessionTimeoutMs: 10_000,
    });
    const { memberId, assignments } = joined.body;
    const committed = await call('POST', '/v1/groups/readers/offsets', {
      memberId,
      offsets: [{ topic: 'clicks', partition: 0, offset: 1, epoch: assignments[0].epoch }],
    });
    const zombie = await call('POST', '/v1/groups/readers/offsets', {
      memberId,
      offsets: [{ topic: 'clicks', partition: 0, offset: 2, epoch: assignments[0].epoch + 1 }],
    });
    const heartbeat = await call('POST', `/v1/groups/readers/members/${memberId}/heartbeat`);
    const described = await call('GET', '/v1/groups/readers');
    const listed = await call('GET', '/v1/groups');
    const left = await call('DELETE', `/v1/groups/readers/members/${memberId}`);
    const afterLeave = await call('POST', `/v1/groups/readers/members/${memberId}/heartbeat`);
    // Assess
    expect(joined.status).toBe(201);
    expect(assignments.map((a: { partition: number }) => a.partition)).toEqual([0, 1]);
    expect(committed.status).toBe(200);
    expect(zombie.status).toBe(409);
    expect(zombie.body.error).toMatchObject({ code: 'LEASE_LOST', retriable: false });
    expect(heartbeat.body).toMatchObject({ revoked: [] });
    expect(described.body.partitions).toEqual([
      {
        topic: 'clicks',
        partition: 0,
        owner: memberId,
        epoch: 1,
        committedOffset: 1,
        highWatermark: 2,
        lag: 1,
      },
      {
        topic: 'clicks',
        partition: 1,
        owner: memberId,
        epoch: 1,
        committedOffset: null,
        highWatermark: 0,
        lag: 0,
      },
    ]);
    expect(listed.body).toEqual({ groups: ['readers'] });
    expect(left.status).toBe(204);
    expect(afterLeave.status).toBe(409);
  });

  it('answers a join retried with the same memberId for the member the first attempt created', async () => {
    // Prepare
    await call('POST', '/v1/topics', { name: 'retried', partitions: 2 });
    const body = { topics: ['retried'], sessionTimeoutMs: 10_000, memberId: 'reader-7f3a' };
    // Act: the first response is "lost"; the client sends the same request again
    const first = await call('POST', '/v1/groups/retries/members', body);
    const retry = await call('POST', '/v1/groups/retries/members', body);
    const other = await call('POST', '/v1/groups/retries/members', { ...body, sessionTimeoutMs: 20_000 });
    const badId = await call('POST', '/v1/groups/retries/members', { ...body, memberId: 'a/b' });
    const described = await call('GET', '/v1/groups/retries');
    // Assess
    expect([first.status, retry.status]).toEqual([201, 201]);
    expect(retry.body).toEqual(first.body);
    expect(first.body.memberId).toBe('reader-7f3a');
    expect(described.body.members.map((m: { memberId: string }) => m.memberId)).toEqual(['reader-7f3a']);
    expect(other.status).toBe(400);
    expect(badId.status).toBe(400);
  });

  it('resets offsets of an empty group and refuses bad input', async () => {
    await call('POST', '/v1/topics', { name: 'resets', partitions: 1 });
    await call('POST', '/v1/topics/resets/records', {
      records: [{ value: 'a' }, { value: 'b' }, { value: 'c' }],
    });
    const reset = await call('POST', '/v1/groups/r/offsets/reset', {
      topic: 'resets',
      to: 'offset',
      offset: 2,
    });
    expect(reset.body).toEqual({ partitions: [{ topic: 'resets', partition: 0, committedOffset: 2 }] });
    const bad: [string, string, unknown, number][] = [
      ['POST', '/v1/groups/r/members', { topics: 'resets' }, 400],
      ['POST', '/v1/groups/r/members', { topics: ['resets'], extra: 1 }, 400],
      ['POST', '/v1/groups/bad%20name/members', { topics: ['resets'] }, 400],
      ['POST', '/v1/groups/r/members', { topics: ['missing'] }, 404],
      [
        'POST',
        '/v1/groups/r/offsets',
        { memberId: 'x', offsets: [{ topic: 'resets', partition: 0, offset: -1, epoch: 1 }] },
        400,
      ],
      [
        'POST',
        '/v1/groups/r/offsets',
        { memberId: 'x', offsets: [{ topic: 'resets', partition: 0, offset: 1, epoch: 1 }] },
        409,
      ],
      ['POST', '/v1/groups/r/offsets/reset', { topic: 'resets', to: 'timestamp' }, 400],
      ['POST', '/v1/groups/r/offsets/reset', { topic: 'resets', to: 'offset', offset: 99 }, 416],
      ['GET', '/v1/groups/r/nothing', undefined, 404],
    ];
    for (const [method, path, body, status] of bad) {
      const response = await call(method, path, body);
      expect({ path, body, status: response.status }).toEqual({ path, body, status });
    }
    expect((await call('GET', '/v1/groups/r')).body.partitions[0].committedOffset).toBe(2);
  });

  it('deletes a group once it has no live members: its offsets and its listing', async () => {
    // Prepare
    await call('POST', '/v1/topics', { name: 'deletes', partitions: 1 });
    await call('POST', '/v1/topics/deletes/records', { records: [{ value: 'a' }, { value: 'b' }] });
    const joined = await call('POST', '/v1/groups/gone/members', { topics: ['deletes'] });
    const { memberId, assignments } = joined.body;
    await call('POST', '/v1/groups/gone/offsets', {
      memberId,
      offsets: [{ topic: 'deletes', partition: 0, offset: 2, epoch: assignments[0].epoch }],
    });
    // Act
    const whileLive = await call('DELETE', '/v1/groups/gone');
    const describedWhileLive = await call('GET', '/v1/groups/gone');
    await call('DELETE', `/v1/groups/gone/members/${memberId}`);
    const deleted = await call('DELETE', '/v1/groups/gone');
    const again = await call('DELETE', '/v1/groups/gone');
    const described = await call('GET', '/v1/groups/gone');
    const listed = await call('GET', '/v1/groups');
    const subscription = await call('DELETE', '/v1/groups/subscription%3Ahook');
    const badName = await call('DELETE', '/v1/groups/bad%20name');
    const withQuery = await call('DELETE', '/v1/groups/gone?force=1');
    // Assess
    expect(whileLive.status).toBe(400);
    expect(whileLive.body.error).toMatchObject({
      code: 'INVALID_REQUEST',
      message: 'group gone has 1 live member(s); a group can be deleted only while it has none',
    });
    expect(describedWhileLive.body.partitions[0]).toMatchObject({ committedOffset: 2 });
    expect(deleted.status).toBe(204);
    expect(again.status).toBe(204);
    expect(described.body).toEqual({ group: 'gone', members: [], partitions: [] });
    expect(listed.body.groups).not.toContain('gone');
    expect(subscription.status).toBe(400);
    expect(subscription.body.error.message).toBe(
      'group subscription:hook belongs to subscription hook: delete the subscription instead',
    );
    expect(badName.status).toBe(400);
    expect(withQuery.status).toBe(400);
    // A group of the same name joined later starts with no committed offset.
    const rejoined = await call('POST', '/v1/groups/gone/members', { topics: ['deletes'] });
    expect(rejoined.body.assignments[0].committedOffset).toBeNull();
  });
});
