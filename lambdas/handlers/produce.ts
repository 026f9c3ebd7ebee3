/**
 * The produce function. API Gateway routes `POST /v1/topics/{topic}/records` here (JSON or the binary
 * form); the body limit, validation and the commit protocol live in the router and the core.
 */
import { createHttpLambda } from './http-handler.ts';

export const handler = createHttpLambda('produce');
