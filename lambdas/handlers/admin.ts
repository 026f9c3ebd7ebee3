/**
 * The admin function. API Gateway routes `GET /v1/health`, `GET|POST /v1/topics`,
 * `GET|PATCH|DELETE /v1/topics/{topic}` and `POST /v1/topics/{topic}/records/delete` here.
 */
import { createHttpLambda } from './http-handler.ts';

export const handler = createHttpLambda('admin');
