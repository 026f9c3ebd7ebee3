/** Listeners sharing one advertised address are one broker to clients (runtime/kafka-listeners.ts). */
import { describe, expect, it } from 'vitest';
import { brokersByAddress, internalHostOf } from '../../lambdas/runtime/kafka-listeners.ts';

describe('brokersByAddress', () => {
  it('lists this listener alone for its own address and the lowest node id for another', () => {
    // Prepare
    const self = { nodeId: 2, host: 'nlb', port: 9092 };
    const live = [
      { nodeId: 3, host: 'other', port: 9092 },
      { nodeId: 0, host: 'nlb', port: 9092 },
      { nodeId: 1, host: 'other', port: 9092 },
      { nodeId: 2, host: 'nlb', port: 9092, internalHost: '10.0.1.5', internalPort: 9092 },
    ];
    // Act
    const brokers = brokersByAddress(self, live);
    // Assess
    expect(brokers).toEqual([
      { nodeId: 1, host: 'other', port: 9092 },
      { nodeId: 2, host: 'nlb', port: 9092 },
    ]);
  });

  it('keeps listeners at distinct addresses, this one included while it is not listed yet', () => {
    // Act
    const brokers = brokersByAddress({ nodeId: 1, host: 'b', port: 9093 }, [
      { nodeId: 0, host: 'a', port: 9092 },
    ]);
    // Assess
    expect(brokers).toEqual([
      { nodeId: 0, host: 'a', port: 9092 },
      { nodeId: 1, host: 'b', port: 9093 },
    ]);
  });
});

describe('internalHostOf', () => {
  it('is the bound host, or for a wildcard an address other machines reach', () => {
    expect(internalHostOf('127.0.0.1')).toBe('127.0.0.1');
    expect(internalHostOf('10.0.1.5')).toBe('10.0.1.5');
    expect(internalHostOf('0.0.0.0')).not.toMatch(/^(0\.0\.0\.0|169\.254\.)/);
  });
});
