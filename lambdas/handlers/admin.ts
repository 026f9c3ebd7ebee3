/**
 * The admin function. API Gateway routes `GET /v1/health`, `GET|POST /v1/topics` and
 * `GET|PATCH|DELETE /v1/topics/{topic}` here.
 */
import { createHttpLambda } from './http-handler.ts';

export const handler = createHttpLambda('admin');
