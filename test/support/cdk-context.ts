/** The context of cdk.json (feature flags and settings), for apps that tests synthesize like `cdk synth` does. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

export const CDK_CONTEXT = JSON.parse(readFileSync(join(import.meta.dirname, '..', '..', 'cdk.json'), 'utf8'))
  .context as Record<string, unknown>;
