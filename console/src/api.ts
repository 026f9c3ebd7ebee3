/**
 * The console's only way to the server: the public HTTP API (docs/api.md), on the origin that served
 * the console. Every call carries the token the user gave, when there is one; a 401 asks for it (see
 * app.tsx) and the call is made again once it is given. Served by `streambed console` (a local proxy to
 * a deployed stack that signs every call with the user's AWS credentials), the page is marked so and
 * no token is sent or asked for.
 */
import type {
  ApiErrorBody,
  CreatedTopic,
  FetchResponse,
  GroupDetails,
  GroupList,
  JanitorState,
  OffsetReset,
  PartitionOffsets,
  ProduceRecordBody,
  ProduceResponse,
  ResetResponse,
  SubscriptionChange,
  SubscriptionConfig,
  SubscriptionDetails,
  SubscriptionList,
  TopicChange,
  TopicDetails,
  TopicList,
} from './api-types.ts';

const TOKEN_KEY = 'streambed.token';

/** The page came from `streambed console`: the server that served it signs the calls. */
export const signedByProxy = document.querySelector('meta[name="streambed-signing-proxy"]') !== null;

/** The token kept for this tab (sessionStorage: gone when the tab closes, never sent elsewhere). */
export function storedToken(): string | undefined {
  return sessionStorage.getItem(TOKEN_KEY) ?? undefined;
}

export function storeToken(token: string | undefined): void {
  if (token === undefined || token === '') sessionStorage.removeItem(TOKEN_KEY);
  else sessionStorage.setItem(TOKEN_KEY, token);
}

/** An answer that is not 2xx, with the API's error code and message when it sent them. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly body?: ApiErrorBody['error'],
  ) {
    super(message);
  }
}

/** The server could not be reached at all (stopped, network down). */
export class UnreachableError extends Error {}

type UnauthorizedListener = () => void;
let onUnauthorized: UnauthorizedListener = () => undefined;

/** Told of every 401, so the app can ask for a token. */
export function setUnauthorizedListener(listener: UnauthorizedListener): void {
  onUnauthorized = listener;
}

const segment = encodeURIComponent;

/** One call to the API: its JSON answer, or an `ApiError` / `UnreachableError`. */
export async function call<T>(
  method: string,
  path: string,
  body?: unknown,
  signal?: AbortSignal,
): Promise<T> {
  const headers: Record<string, string> = { accept: 'application/json' };
  const token = signedByProxy ? undefined : storedToken();
  if (token !== undefined) headers.authorization = `Bearer ${token}`;
  if (body !== undefined) headers['content-type'] = 'application/json';
  let response: Response;
  try {
    response = await fetch(path, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      signal,
    });
  } catch (error) {
    // Called off by its caller (a live tail stopped): not a failure to report.
    if (signal?.aborted === true) throw error;
    throw new UnreachableError(
      `cannot reach the Streambed server at ${location.origin} (${String(error)}); is it running (${signedByProxy ? 'streambed console' : 'npm start'})?`,
    );
  }
  if (response.status === 204) return undefined as T;
  const text = await response.text();
  let json: unknown;
  try {
    json = text === '' ? undefined : JSON.parse(text);
  } catch {
    json = undefined;
  }
  if (response.ok) return json as T;
  if (response.status === 401 && !signedByProxy) onUnauthorized();
  const error = (json as Partial<ApiErrorBody> | undefined)?.error ?? registryError(json);
  throw new ApiError(
    response.status,
    error?.code ?? `HTTP_${response.status}`,
    error?.message ?? `${method} ${path} answered ${response.status} ${response.statusText}`,
    error,
  );
}

/** The schema registry's errors (`/schema-registry`) are Confluent's `{error_code, message}`. */
function registryError(json: unknown): ApiErrorBody['error'] | undefined {
  const body = json as { error_code?: unknown; message?: unknown } | undefined;
  if (typeof body?.error_code !== 'number' || typeof body.message !== 'string') return undefined;
  // 50001 is Confluent's "backend data store" error, which its clients retry.
  return { code: String(body.error_code), message: body.message, retriable: body.error_code === 50001 };
}

export const api = {
  listTopics: () => call<TopicList>('GET', '/v1/topics'),
  describeTopic: (topic: string) => call<TopicDetails>('GET', `/v1/topics/${segment(topic)}`),
  createTopic: (name: string, partitions: number, config: Record<string, string | number>) =>
    call<CreatedTopic>('POST', '/v1/topics', { name, partitions, config }),
  produce: (topic: string, record: ProduceRecordInput) =>
    call<ProduceResponse>('POST', `/v1/topics/${segment(topic)}/records`, { records: [record] }),
  alterTopic: (topic: string, change: TopicChange) =>
    call<CreatedTopic>('PATCH', `/v1/topics/${segment(topic)}`, change),
  /** `waitMs` > 0 long-polls: the answer comes when records arrive or the time is up (at most 20 s). */
  fetch: (
    topic: string,
    partition: number,
    offset: number,
    maxBytes: number,
    poll: { waitMs?: number; signal?: AbortSignal } = {},
  ) =>
    call<FetchResponse>(
      'GET',
      `/v1/topics/${segment(topic)}/partitions/${partition}/records?offset=${offset}&max_bytes=${maxBytes}&encoding=base64${poll.waitMs === undefined ? '' : `&max_wait_ms=${poll.waitMs}`}`,
      undefined,
      poll.signal,
    ),
  offsets: (topic: string, partition: number, timestamp?: number) =>
    call<PartitionOffsets>(
      'GET',
      `/v1/topics/${segment(topic)}/partitions/${partition}/offsets${timestamp === undefined ? '' : `?timestamp=${timestamp}`}`,
    ),
  janitor: () => call<JanitorState>('GET', '/v1/janitor'),
  listGroups: () => call<GroupList>('GET', '/v1/groups'),
  describeGroup: (group: string) => call<GroupDetails>('GET', `/v1/groups/${segment(group)}`),
  listSubscriptions: () => call<SubscriptionList>('GET', '/v1/subscriptions'),
  describeSubscription: (name: string) =>
    call<SubscriptionDetails>('GET', `/v1/subscriptions/${segment(name)}`),
  resetOffsets: (group: string, reset: OffsetReset) =>
    call<ResetResponse>('POST', `/v1/groups/${segment(group)}/offsets/reset`, reset),
  deleteGroup: (group: string) => call<undefined>('DELETE', `/v1/groups/${segment(group)}`),
  changeSubscription: (name: string, change: SubscriptionChange) =>
    call<SubscriptionConfig>('PATCH', `/v1/subscriptions/${segment(name)}`, change),
};

/** One record of a produce request, in the JSON form (docs/api.md, "Produce"), as the form sends it. */
export type ProduceRecordInput = Pick<ProduceRecordBody, 'key' | 'value' | 'headers' | 'partition'>;

/** What to tell the user about a failed call: the API's message, and what to do about it. */
export function describeFailure(error: unknown): string {
  if (error instanceof ApiError) {
    if (signedByProxy && (error.status === 401 || error.status === 403)) {
      return `The deployed API refused the call signed by streambed console (${error.status}): check the AWS credentials it was started with; they need execute-api:Invoke on this API.`;
    }
    if (error.status === 401) return 'The server wants a token: enter it above.';
    return `${error.code}: ${error.message}`;
  }
  if (error instanceof UnreachableError) return error.message;
  return String(error);
}
