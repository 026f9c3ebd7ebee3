import { describe, expect, it } from 'vitest';
import { createTargetCache, type Target } from '../../lambdas/subscriptions/target.ts';

function fakeTarget(description: string, closed: string[]): Target {
  return {
    description,
    deliver: async () => ({ ok: true, response: null }),
    close: () => closed.push(description),
  };
}

describe('target cache', () => {
  it('makes a target once per key and reuses it', () => {
    const closed: string[] = [];
    const cache = createTargetCache(4);
    let made = 0;
    const make = () => fakeTarget(`t${++made}`, closed);
    const first = cache.get('a', make);
    expect(cache.get('a', make)).toBe(first);
    expect(cache.get('b', make)).not.toBe(first);
    expect(made).toBe(2);
    expect(closed).toEqual([]);
  });

  it('closes every kept target and starts over once full', () => {
    const closed: string[] = [];
    const cache = createTargetCache(2);
    cache.get('a', () => fakeTarget('a', closed));
    cache.get('b', () => fakeTarget('b', closed));
    cache.get('c', () => fakeTarget('c', closed));
    expect(closed).toEqual(['a', 'b']);
    let remade = false;
    cache.get('a', () => {
      remade = true;
      return fakeTarget('a2', closed);
    });
    expect(remade).toBe(true);
  });

  it('close() closes what it keeps, and a target without close is simply dropped', () => {
    const closed: string[] = [];
    const cache = createTargetCache(8);
    cache.get('a', () => fakeTarget('a', closed));
    cache.get('f', () => ({ description: 'function', deliver: async () => ({ ok: true, response: null }) }));
    cache.close();
    expect(closed).toEqual(['a']);
  });
});
