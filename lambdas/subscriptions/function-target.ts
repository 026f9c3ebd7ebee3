/**
 * A function target (DESIGN §12, deployed stack only): each delivery is one synchronous invocation
 * (`RequestResponse`) of the subscription's Lambda function with the event as payload, as an event
 * source mapping invokes a function on Kafka records.
 *
 * What the invocation's outcome becomes (the deliverer acts on it, target.ts):
 * - the function returned: `{ok: true, response}` with the returned value parsed (null if none);
 * - the function failed (`FunctionError` set: it threw, timed out or ran out of memory):
 *   `{ok: false, error: "<errorType>: <errorMessage>"}`, counted as an attempt;
 * - Lambda throttled the invocation (TooManyRequestsException, 429) or failed itself before the code
 *   ran (ServiceException, EC2* and ENI* network set-up errors, a subnet out of addresses,
 *   ResourceNotReadyException): `{ok: false, reached: false}`, retried with backoff and not counted,
 *   as Lambda's own event source mappings do not count them;
 * - any other refusal (ResourceNotFoundException, AccessDeniedException, RequestTooLargeException, ...)
 *   and a request that timed out or lost its connection: `{ok: false}`, counted: the function may
 *   have run, or will never run until someone fixes the stack.
 *
 * The SDK makes one attempt (the deliverer owns retries, and a retried RequestResponse call after a
 * timeout could run the function twice at once) and waits up to 15 minutes for the answer, Lambda's
 * longest function timeout: the function's own timeout is what bounds an invocation.
 */
import {
  InvokeCommand,
  type InvokeCommandInput,
  type InvokeCommandOutput,
  LambdaClient,
} from '@aws-sdk/client-lambda';
import type { Delivery, DeliveryResult, Target } from './target.ts';

/** Lambda's longest function timeout: an invocation's answer never takes longer. */
export const FUNCTION_INVOKE_TIMEOUT_MS = 15 * 60_000;
const CONNECTION_TIMEOUT_MS = 3_000;

/** The part of a LambdaClient a function target uses (tests pass a fake). */
export interface LambdaInvoker {
  send(command: InvokeCommand, options?: { abortSignal?: AbortSignal }): Promise<InvokeResult>;
}

/** What a target reads of an invocation's output. */
export type InvokeResult = Pick<InvokeCommandOutput, 'FunctionError'> & { Payload?: Uint8Array };

/** A client for synchronous target invocations: one attempt, a 15-minute response timeout. */
export function createTargetLambdaClient(region?: string): LambdaClient {
  return new LambdaClient({
    region,
    maxAttempts: 1,
    requestHandler: { connectionTimeout: CONNECTION_TIMEOUT_MS, requestTimeout: FUNCTION_INVOKE_TIMEOUT_MS },
  });
}

/** Errors raised before the function's code ran: Lambda throttled the call or failed itself. */
const UNREACHED = new Set([
  'TooManyRequestsException',
  'ServiceException',
  'ResourceNotReadyException',
  'SubnetIPAddressLimitReachedException',
]);

function neverReached(error: { name?: string; $metadata?: { httpStatusCode?: number } }): boolean {
  const name = error.name ?? '';
  const status = error.$metadata?.httpStatusCode;
  return UNREACHED.has(name) || /^(EC2|ENI)/.test(name) || status === 429 || status === 500;
}

const decoder = new TextDecoder();

function parsePayload(payload: Uint8Array | undefined): unknown {
  const text = payload === undefined ? '' : decoder.decode(payload);
  if (text.trim() === '') return null;
  try {
    return JSON.parse(text);
  } catch {
    return null;
  }
}

/** "<errorType>: <errorMessage>" from the error document a failed function returns. */
function functionErrorOf(kind: string, payload: Uint8Array | undefined): string {
  const parsed = parsePayload(payload);
  if (typeof parsed === 'object' && parsed !== null) {
    const { errorType, errorMessage } = parsed as { errorType?: unknown; errorMessage?: unknown };
    const type = typeof errorType === 'string' && errorType !== '' ? errorType : kind;
    const message = typeof errorMessage === 'string' ? errorMessage : JSON.stringify(parsed);
    return `${type}: ${message}`;
  }
  const text = payload === undefined ? '' : decoder.decode(payload).slice(0, 500);
  return `${kind}: ${text === '' ? 'the function failed' : text}`;
}

export function createFunctionTarget(fn: string, options: { client: LambdaInvoker }): Target {
  const { client } = options;
  const encoder = new TextEncoder();
  return {
    description: fn,
    async deliver(delivery: Delivery, signal?: AbortSignal): Promise<DeliveryResult> {
      const input: InvokeCommandInput = {
        FunctionName: fn,
        InvocationType: 'RequestResponse',
        Payload: encoder.encode(delivery.body),
      };
      let output: InvokeResult;
      try {
        output = await client.send(new InvokeCommand(input), { abortSignal: signal });
      } catch (error) {
        const failure = error as Error & { $metadata?: { httpStatusCode?: number } };
        const text = `invoking ${fn} failed: ${failure.name}: ${failure.message}`;
        return neverReached(failure)
          ? { ok: false, reached: false, error: text }
          : { ok: false, error: text };
      }
      if (output.FunctionError !== undefined && output.FunctionError !== '') {
        return { ok: false, error: functionErrorOf(output.FunctionError, output.Payload) };
      }
      return { ok: true, response: parsePayload(output.Payload) };
    },
  };
}
