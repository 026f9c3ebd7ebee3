/** One JSON request to a server under test, answered with its status and parsed body. */
export type JsonCall = (
  method: string,
  path: string,
  body?: unknown,
  // biome-ignore lint/suspicious/noExplicitAny: response bodies are checked field by field by the assertions
) => Promise<{ status: number; body: Record<string, any> }>;

/** Requests to `baseUrl()` (read on each call, so a server started in beforeAll can supply it). */
export function jsonCaller(baseUrl: () => string): JsonCall {
  return async (method, path, body) => {
    const response = await fetch(`${baseUrl()}${path}`, {
      method,
      headers: body === undefined ? {} : { 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await response.text();
    return { status: response.status, body: text === '' ? {} : JSON.parse(text) };
  };
}
