/**
 * The fetch function. API Gateway routes `GET /v1/topics/{topic}/partitions/{partition}/records` and
 * `.../offsets` here. Long polls end by MAX_FETCH_WAIT_MS (20 s), inside the function timeout (29 s)
 * and API Gateway's 30 s.
 */
import { createHttpLambda } from './http-handler.ts';

export const handler = createHttpLambda('fetch');
