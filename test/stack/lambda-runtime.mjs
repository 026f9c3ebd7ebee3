// One Lambda execution environment of the offline stack (started by ./lambda-host.ts, not for direct
// use). Plain JavaScript run by node itself, so the bundle runs exactly as CDK built it, with only the
// environment the host gives it.
//
// argv[2]: the bundle directory; argv[3]: the handler module file (e.g. `index`); argv[4]: the export.
// IPC protocol: the host sends {type: 'invoke', id, event, context}; this process answers
// {type: 'result', id, payload} (the result as JSON text, measured by the host like Lambda does) or
// {type: 'error', id, errorType, errorMessage}, with its resident memory after the invocation.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

const [, , codeDir, moduleName, exportName] = process.argv;
if (!codeDir || !moduleName || !exportName || !process.send) {
  console.error('usage: spawned by test/stack/lambda-host.ts with an IPC channel');
  process.exit(2);
}

process.on('disconnect', () => process.exit(0));

let handler;
async function load() {
  if (handler !== undefined) return handler;
  // Lambda's Node.js runtime tries .js, .mjs and .cjs for the module the Handler setting names.
  const file = ['.mjs', '.js', '.cjs'].map((ext) => join(codeDir, `${moduleName}${ext}`)).find(existsSync);
  if (file === undefined) {
    const error = new Error(`Cannot find module '${moduleName}'`);
    error.name = 'Runtime.ImportModuleError';
    throw error;
  }
  const module = await import(pathToFileURL(file).href);
  const candidate = module[exportName];
  if (typeof candidate !== 'function') {
    const error = new Error(`${moduleName}.${exportName} is undefined or not exported`);
    error.name = 'Runtime.HandlerNotFound';
    throw error;
  }
  handler = candidate;
  return handler;
}

process.on('message', async (message) => {
  if (message?.type !== 'invoke') return;
  const { id, event, context } = message;
  const deadline = Date.now() + context.remainingMs;
  const lambdaContext = {
    ...context.fields,
    callbackWaitsForEmptyEventLoop: true,
    getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
  };
  try {
    const fn = await load();
    const result = await fn(event, lambdaContext);
    const payload = result === undefined ? 'null' : JSON.stringify(result);
    process.send({ type: 'result', id, payload, rssBytes: process.memoryUsage.rss() });
  } catch (error) {
    process.send({
      type: 'error',
      id,
      errorType: error?.name ?? 'Error',
      errorMessage: String(error?.message ?? error),
      stack: String(error?.stack ?? ''),
      rssBytes: process.memoryUsage.rss(),
    });
  }
});

process.send({ type: 'ready' });
