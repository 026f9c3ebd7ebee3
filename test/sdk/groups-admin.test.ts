/** The SDK's group administration (Admin) against a real local server: deleteGroups, KafkaJS-shaped. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Admin, Streambed, StreambedError } from '../../client/index.ts';
import { type LocalServer, startLocalServer } from '../../lambdas/runtime/local-server.ts';

let local: LocalServer;
let client: Streambed;
let admin: Admin;
beforeAll(async () => {
  local = await startLocalServer({ port: 0, memory: true });
  client = new Streambed({ url: local.url });
  admin = client.admin();
  await admin.createTopic({ topic: 'orders', numPartitions: 2 });
});
afterAll(async () => local.close());

/** A group is listed from its first join: one member joins it and leaves. */
async function joinAndLeave(groupId: string): Promise<void> {
  const member = client.consumer({ groupId });
  await member.subscribe({ topics: ['orders'] });
  await member.run({ eachMessage: async () => {} });
  await member.disconnect();
}

describe('Admin deleteGroups', () => {
  it('deletes empty groups and answers {groupId, errorCode} for each', async () => {
    // Prepare
    for (const group of ['a', 'b']) await joinAndLeave(group);
    expect(await admin.listGroupIds()).toEqual(['a', 'b']);
    // Act
    const results = await admin.deleteGroups(['a', 'b', 'never-existed']);
    // Assess
    expect(results).toEqual([
      { groupId: 'a', errorCode: 'NONE' },
      { groupId: 'b', errorCode: 'NONE' },
      { groupId: 'never-existed', errorCode: 'NONE' },
    ]);
    expect(await admin.listGroupIds()).toEqual([]);
  });

  it('throws with every group result when one has live members, and still deletes the others', async () => {
    // Prepare
    await joinAndLeave('idle');
    const member = client.consumer({ groupId: 'busy' });
    await member.subscribe({ topics: ['orders'] });
    await member.run({ eachMessage: async () => {} });
    // Act
    const error = await admin.deleteGroups(['busy', 'idle']).then(
      () => new Error('expected deleteGroups to fail'),
      (caught: unknown) => caught,
    );
    await member.disconnect();
    // Assess
    expect(error).toBeInstanceOf(StreambedError);
    const failed = error as StreambedError;
    expect(failed.code).toBe('INVALID_REQUEST');
    expect(failed.message).toBe(
      '1 of 2 group(s) not deleted: busy: group busy has 1 live member(s); a group can be deleted only while it has none',
    );
    expect(failed.details.groups).toEqual([
      { groupId: 'busy', errorCode: 'INVALID_REQUEST', error: expect.any(StreambedError) },
      { groupId: 'idle', errorCode: 'NONE' },
    ]);
    expect(await admin.listGroupIds()).toEqual(['busy']);
    await admin.deleteGroup('busy');
    expect(await admin.listGroupIds()).toEqual([]);
  });
});
