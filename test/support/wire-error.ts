import { WireError } from '../../client/wire/errors.ts';

/** The WireError `action` throws; anything else it throws propagates, and throwing nothing fails. */
export function thrownBy(action: () => unknown): WireError {
  try {
    action();
  } catch (error) {
    if (error instanceof WireError) return error;
    throw error;
  }
  throw new Error('expected a WireError, nothing was thrown');
}
