import {
  EC2ThrottledException,
  ENILimitReachedException,
  type InvokeCommand,
  RequestTooLargeException,
  ResourceNotFoundException,
  ResourceNotReadyException,
  ServiceException,
  TooManyRequestsException,
} from '@aws-sdk/client-lambda';
import { describe, expect, it } from 'vitest';
import {
  createFunctionTarget,
  type InvokeResult,
  type LambdaInvoker,
} from '../../lambdas/subscriptions/function-target.ts';
import type { Delivery } from '../../lambdas/subscriptions/target.ts';

const delivery: Delivery = { subscription: 's', idempotencyKey: 's/0/0', body: '{"eventSource":"x"}' };
const bytes = (text: string) => new TextEncoder().encode(text);
const meta = (httpStatusCode: number) => ({ $metadata: { httpStatusCode } });

/** A Lambda client that answers every invocation with `answer` and keeps the commands it was sent. */
function fakeClient(answer: () => InvokeResult): LambdaInvoker & { sent: InvokeCommand[] } {
  const sent: InvokeCommand[] = [];
  return {
    sent,
    async send(command) {
      sent.push(command);
      return answer();
    },
  };
}

describe('function target', () => {
  it('invokes the function synchronously with the event as payload and answers with its parsed return value', async () => {
    // Prepare
    const client = fakeClient(() => ({ Payload: bytes('{"batchItemFailures":[]}') }));
    const target = createFunctionTarget('consumer', { client });
    // Act
    const result = await target.deliver(delivery);
    // Assess
    expect(result).toEqual({ ok: true, response: { batchItemFailures: [] } });
    expect(client.sent).toHaveLength(1);
    const input = client.sent[0]?.input;
    expect(input?.FunctionName).toBe('consumer');
    expect(input?.InvocationType).toBe('RequestResponse');
    expect(new TextDecoder().decode(input?.Payload as Uint8Array)).toBe(delivery.body);
    expect(target.description).toBe('consumer');
  });

  it('answers a null response when the function returned nothing or something that is not JSON', async () => {
    for (const payload of [undefined, bytes(''), bytes('null'), bytes('not json')]) {
      const target = createFunctionTarget('consumer', { client: fakeClient(() => ({ Payload: payload })) });
      expect(await target.deliver(delivery)).toEqual({ ok: true, response: null });
    }
  });

  it('turns a function error into a counted failure "<errorType>: <errorMessage>"', async () => {
    const thrown = fakeClient(() => ({
      FunctionError: 'Unhandled',
      Payload: bytes('{"errorType":"TypeError","errorMessage":"x is undefined","trace":["at h"]}'),
    }));
    expect(await createFunctionTarget('consumer', { client: thrown }).deliver(delivery)).toEqual({
      ok: false,
      error: 'TypeError: x is undefined',
    });
    // A timed-out function has no errorType: the FunctionError kind stands in for it.
    const timedOut = fakeClient(() => ({
      FunctionError: 'Unhandled',
      Payload: bytes('{"errorMessage":"2026-01-01T00:00:00Z abc Task timed out after 3.00 seconds"}'),
    }));
    const result = await createFunctionTarget('consumer', { client: timedOut }).deliver(delivery);
    expect(result).toEqual({ ok: false, error: expect.stringMatching(/^Unhandled: .*Task timed out/) });
  });

  it('answers reached: false (retried, not counted) when Lambda throttled the call or failed before the code ran', async () => {
    const errors = [
      new TooManyRequestsException({ message: 'Rate exceeded', ...meta(429) }),
      new ServiceException({ message: 'internal', ...meta(500) }),
      new EC2ThrottledException({ message: 'ec2 throttled', ...meta(502) }),
      new ENILimitReachedException({ message: 'no ENI', ...meta(502) }),
      new ResourceNotReadyException({ message: 'pending', ...meta(502) }),
    ];
    for (const error of errors) {
      const client: LambdaInvoker = {
        send: async () => {
          throw error;
        },
      };
      const result = await createFunctionTarget('consumer', { client }).deliver(delivery);
      expect(result, error.name).toEqual({
        ok: false,
        reached: false,
        error: expect.stringContaining(error.name),
      });
    }
  });

  it('counts the other refusals: a missing function, a denied invoke, a payload too large, a lost connection', async () => {
    const denied = Object.assign(new Error('not authorized to perform lambda:InvokeFunction'), {
      name: 'AccessDeniedException',
      ...meta(403),
    });
    const errors = [
      new ResourceNotFoundException({ message: 'Function not found', ...meta(404) }),
      denied,
      new RequestTooLargeException({ message: 'too large', ...meta(413) }),
      Object.assign(new Error('socket hang up'), { name: 'TimeoutError' }),
    ];
    for (const error of errors) {
      const client: LambdaInvoker = {
        send: async () => {
          throw error;
        },
      };
      const result = await createFunctionTarget('consumer', { client }).deliver(delivery);
      expect(result, error.name).toEqual({ ok: false, error: expect.stringContaining(error.message) });
      expect(result).not.toHaveProperty('reached');
    }
  });

  it('passes the caller signal to the SDK so a stopping deliverer aborts the wait', async () => {
    const signals: (AbortSignal | undefined)[] = [];
    const client: LambdaInvoker = {
      send: async (_command, options) => {
        signals.push(options?.abortSignal);
        return { Payload: bytes('null') };
      },
    };
    const controller = new AbortController();
    await createFunctionTarget('consumer', { client }).deliver(delivery, controller.signal);
    expect(signals).toEqual([controller.signal]);
  });
});
