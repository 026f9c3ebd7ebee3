import { describe, expect, it } from 'vitest';
import { MemoryMetaStore } from '../../lambdas/adapters/memory-meta-store.ts';
import { MemoryObjectStore } from '../../lambdas/adapters/memory-object-store.ts';
import { systemClock } from '../../lambdas/ports/clock.ts';
import { createServices } from '../../lambdas/runtime/services.ts';

/** Services built without a target policy: only URLs on this machine are accepted. */
async function defaultServices() {
  const services = createServices(
    { meta: new MemoryMetaStore(systemClock), objects: new MemoryObjectStore(), close: async () => {} },
    systemClock,
  );
  await services.topics.createTopic('events', 1);
  return services;
}

const subscription = (name: string, url: string) => ({ name, topic: 'events', target: { url } });

describe('the default subscription target policy', () => {
  it('accepts every loopback form the URL rules know (localhost, 127.0.0.0/8, ::1)', async () => {
    const services = await defaultServices();
    for (const [name, url] of [
      ['a', 'http://localhost:9/'],
      ['b', 'http://127.0.0.2:9/hook'],
      ['c', 'http://[::1]:9/'],
    ] as const) {
      await expect(services.subscriptions.create(subscription(name, url))).resolves.toMatchObject({ name });
    }
  });

  it('refuses a URL off this machine, or one the URL rules refuse, naming it and storing nothing', async () => {
    const services = await defaultServices();
    await expect(
      services.subscriptions.create(subscription('a', 'https://example.com/hook')),
    ).rejects.toMatchObject({
      code: 'INVALID_REQUEST',
      message: expect.stringContaining('https://example.com/hook'),
    });
    await expect(
      services.subscriptions.create(subscription('b', 'http://user:secret@127.0.0.1:9/')),
    ).rejects.toMatchObject({ code: 'INVALID_REQUEST', message: expect.stringContaining('credentials') });
    await expect(services.subscriptions.list()).resolves.toEqual([]);
  });
});
