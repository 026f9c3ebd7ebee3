/** Item <-> DynamoDB AttributeValue, for the attribute types the MetaStore port allows. */
import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import { StreamError } from '../core/errors.ts';
import type { AttrValue } from '../ports/meta-store.ts';

export function marshalValue(value: AttrValue): AttributeValue {
  if (value === null) return { NULL: true };
  if (typeof value === 'string') return { S: value };
  if (typeof value === 'number') return { N: String(value) };
  if (typeof value === 'boolean') return { BOOL: value };
  if (value instanceof Uint8Array) return { B: value };
  if (Array.isArray(value)) return { L: value.map(marshalValue) };
  return { M: marshalMap(value) };
}

export function marshalMap(values: {
  [name: string]: AttrValue | undefined;
}): Record<string, AttributeValue> {
  const out: Record<string, AttributeValue> = {};
  for (const [name, value] of Object.entries(values)) {
    if (value !== undefined) out[name] = marshalValue(value);
  }
  return out;
}

export function unmarshalValue(value: AttributeValue): AttrValue {
  if (value.S !== undefined) return value.S;
  if (value.N !== undefined) return Number(value.N);
  if (value.BOOL !== undefined) return value.BOOL;
  if (value.NULL !== undefined) return null;
  if (value.B !== undefined) return value.B;
  if (value.L !== undefined) return value.L.map(unmarshalValue);
  if (value.M !== undefined) return unmarshalMap(value.M);
  throw new StreamError(
    'CORRUPT_DATA',
    `unsupported DynamoDB attribute type ${Object.keys(value).join(',')}`,
  );
}

export function unmarshalMap(values: Record<string, AttributeValue>): { [name: string]: AttrValue } {
  const out: { [name: string]: AttrValue } = {};
  for (const [name, value] of Object.entries(values)) out[name] = unmarshalValue(value);
  return out;
}
