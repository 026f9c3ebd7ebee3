/**
 * IAM policy evaluation for the offline stack, the part of it a Streambed template uses: identity
 * policies with Allow and Deny statements, `*` and `?` wildcards in actions (case-insensitive) and
 * resources, and the condition operators StringEquals, StringLike (and their Not forms) and Bool.
 * An explicit Deny wins; no Allow means denied.
 *
 * A condition on a key the request does not carry does not match (as in IAM: `StringLike` on an absent
 * `s3:prefix` is false). An operator this file does not know makes its statement never match, and is
 * reported through `unknownOperators` so a template using one is noticed instead of half-emulated.
 */
import type { PolicyStatement } from './template.ts';

export type RequestContext = Record<string, string>;

export const unknownOperators = new Set<string>();

function wildcard(pattern: string, flags = ''): RegExp {
  const source = pattern
    .replace(/[.+^${}()|[\]\\]/g, '\\$&')
    .replace(/\*/g, '.*')
    .replace(/\?/g, '.');
  return new RegExp(`^${source}$`, flags);
}

function matchesAny(patterns: readonly string[], value: string, flags = ''): boolean {
  return patterns.some((pattern) => wildcard(pattern, flags).test(value));
}

function conditionHolds(
  condition: NonNullable<PolicyStatement['Condition']>,
  context: RequestContext,
): boolean {
  for (const [operator, keys] of Object.entries(condition)) {
    for (const [key, expected] of Object.entries(keys)) {
      const values = (Array.isArray(expected) ? expected : [expected]).map(String);
      const actual = context[key];
      switch (operator) {
        case 'StringEquals':
          if (actual === undefined || !values.includes(actual)) return false;
          break;
        case 'StringNotEquals':
          if (actual !== undefined && values.includes(actual)) return false;
          break;
        case 'StringLike':
          if (actual === undefined || !matchesAny(values, actual)) return false;
          break;
        case 'StringNotLike':
          if (actual !== undefined && matchesAny(values, actual)) return false;
          break;
        case 'Bool':
          if (actual === undefined || !values.includes(actual)) return false;
          break;
        default:
          unknownOperators.add(operator);
          return false;
      }
    }
  }
  return true;
}

function applies(
  statement: PolicyStatement,
  action: string,
  resource: string,
  context: RequestContext,
): boolean {
  return (
    matchesAny(statement.Action, action, 'i') &&
    matchesAny(statement.Resource, resource) &&
    (statement.Condition === undefined || conditionHolds(statement.Condition, context))
  );
}

/** Whether the statements allow `action` on `resource` in `context`. */
export function isAllowed(
  statements: readonly PolicyStatement[],
  action: string,
  resource: string,
  context: RequestContext = {},
): boolean {
  let allowed = false;
  for (const statement of statements) {
    if (!applies(statement, action, resource, context)) continue;
    if (statement.Effect === 'Deny') return false;
    allowed = true;
  }
  return allowed;
}
