/**
 * Telling async work from a plain value without ever throwing while doing
 * so. Not exported from `mod.ts`.
 *
 * @module
 */

import type { Callable } from "./slots.ts";

/**
 * The `then` of `value` read once, as `await` reads it: `undefined` for a
 * primitive, and a getter that throws throws here too.
 */
export function readThen(value: unknown): unknown {
  if (
    (typeof value !== "object" && typeof value !== "function") || value === null
  ) return undefined;
  return (value as { then?: unknown }).then;
}

/**
 * The callable `then` of `value`, read once, or `undefined`: what `await`
 * would treat as a promise. A `then` getter that throws counts as none,
 * for the checks that must not add an error the built-in would not give.
 */
export function thenOf(value: unknown): Callable | undefined {
  try {
    const then = readThen(value);
    return typeof then === "function" ? then as Callable : undefined;
  } catch {
    return undefined;
  }
}

/** Does nothing: a callback whose call is the only thing that matters. */
export function ignore(): void {}

/**
 * Handles a thenable's rejection so it never becomes an unhandled one. Both
 * callbacks are real functions: a thenable may call either unconditionally.
 */
export function observe(value: unknown, then: Callable | undefined): void {
  if (then === undefined) return;
  try {
    then.call(value, ignore, ignore);
  } catch {
    // A thenable whose then() throws cannot settle later through it.
  }
}

/**
 * A promise already resolved, made by an async function as the built-ins
 * make theirs: the global `Promise` may have been replaced since (zone.js
 * does), and a replacement's promises take two more ticks to await. For
 * the `disposeAsync()` paths that settle at once.
 */
export async function resolved(): Promise<void> {}

/** {@linkcode resolved}, rejected with `error`. */
export async function rejected(error: unknown): Promise<never> {
  throw error;
}
