/** Turns driver and mongoose errors into typed errors with readable messages. */
import mongoose from 'mongoose';
import { DeckhandError } from '../core/index.js';

export function isDuplicateKeyError(error: unknown): boolean {
  return (
    typeof error === 'object' &&
    error !== null &&
    'code' in error &&
    (error as { code: unknown }).code === 11000
  );
}

export function toStoreError(error: unknown, what: string): unknown {
  if (error instanceof mongoose.Error.ValidationError) {
    const problems = Object.values(error.errors)
      .map((inner) => `${inner.path}: ${inner.message}`)
      .join('; ');
    return new DeckhandError('STORE_VALIDATION', `${what} is invalid: ${problems}`, { cause: error });
  }
  if (error instanceof mongoose.Error.CastError) {
    return new DeckhandError(
      'STORE_VALIDATION',
      `${what} is invalid: ${error.path} cannot be ${JSON.stringify(error.value)}`,
      {
        cause: error,
      },
    );
  }
  if (error instanceof mongoose.Error.StrictModeError) {
    return new DeckhandError('STORE_VALIDATION', `${what} is invalid: ${error.message}`, { cause: error });
  }
  if (isDuplicateKeyError(error)) {
    return new DeckhandError('STORE_CONFLICT', `${what} already exists.`, { cause: error });
  }
  return error;
}

export async function guard<T>(what: string, run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (error) {
    throw toStoreError(error, what);
  }
}
