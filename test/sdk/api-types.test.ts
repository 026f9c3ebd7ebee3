/**
 * The SDK's public API types describe the HTTP JSON on their own (the package carries no server code);
 * these checks, run by the typecheck, keep them equal to the server's types for the same answers.
 */
import { describe, expectTypeOf, it } from 'vitest';
import type { GroupDescription } from '../../client/index.ts';
import type { GroupDescription as ServerGroupDescription } from '../../lambdas/core/groups.ts';

describe('the SDK API types', () => {
  it('GroupDescription is exactly what the server describes a group as', () => {
    expectTypeOf<GroupDescription>().toEqualTypeOf<ServerGroupDescription>();
  });
});
