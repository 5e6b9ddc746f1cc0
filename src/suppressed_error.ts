/**
 * The constructor of the error that chains cleanup failures: the runtime's
 * own `SuppressedError` where it exists, an equivalent otherwise.
 *
 * @module
 */

/**
 * The shape of a `SuppressedError` instance, native or fallback.
 *
 * @example
 * ```ts
 * import { SuppressedError, type SuppressedErrorLike } from "@cleanup/defer";
 * import assert from "node:assert/strict";
 *
 * const e: SuppressedErrorLike = new SuppressedError(new Error("new"), new Error("old"));
 * assert.equal((e.error as Error).message, "new");
 * assert.equal((e.suppressed as Error).message, "old");
 * ```
 */
export interface SuppressedErrorLike extends Error {
  /** The error raised last: the one that suppressed the other. */
  error: unknown;
  /** The error that was already pending when `error` was raised. */
  suppressed: unknown;
}

/**
 * The shape of the `SuppressedError` constructor, native or fallback.
 *
 * @example
 * ```ts
 * import {
 *   SuppressedError,
 *   type SuppressedErrorConstructorLike,
 * } from "@cleanup/defer";
 * import assert from "node:assert/strict";
 *
 * const Ctor: SuppressedErrorConstructorLike = SuppressedError;
 * const e = new Ctor("error", "suppressed", "message");
 * assert.equal(e.message, "message");
 * ```
 */
export interface SuppressedErrorConstructorLike {
  /** Creates an error that wraps `error` and the earlier `suppressed` one. */
  new (
    error: unknown,
    suppressed: unknown,
    message?: string,
  ): SuppressedErrorLike;
  /** The prototype shared by every instance. */
  readonly prototype: SuppressedErrorLike;
}

/**
 * The fallback for runtimes without a native `SuppressedError` (Node 22).
 * It mirrors the native descriptors: `error` and `suppressed` are own,
 * writable, configurable and non-enumerable data properties.
 */
class FallbackSuppressedError extends Error {
  declare error: unknown;
  declare suppressed: unknown;

  constructor(error: unknown, suppressed: unknown, message?: string) {
    super(message);
    Object.defineProperty(this, "error", {
      value: error,
      writable: true,
      enumerable: false,
      configurable: true,
    });
    Object.defineProperty(this, "suppressed", {
      value: suppressed,
      writable: true,
      enumerable: false,
      configurable: true,
    });
  }
}
Object.defineProperty(FallbackSuppressedError.prototype, "name", {
  value: "SuppressedError",
  writable: true,
  enumerable: false,
  configurable: true,
});
Object.defineProperty(FallbackSuppressedError, "name", {
  value: "SuppressedError",
});

const native = (globalThis as { SuppressedError?: unknown }).SuppressedError;

/** The message of every SuppressedError this package creates, as V8's. */
export const SUPPRESSED_MESSAGE = "An error was suppressed during disposal";

/**
 * `SuppressedError` as this runtime has it: the native constructor on Deno,
 * Bun and Node 24+, so `instanceof SuppressedError` holds for errors thrown
 * by `DeferStack`, and an equivalent class with the same `error` and
 * `suppressed` properties on runtimes without one (Node 22).
 *
 * @example Telling a chained disposal error apart
 * ```ts
 * import { defer, SuppressedError } from "@cleanup/defer";
 * import assert from "node:assert/strict";
 *
 * const d = defer();
 * d.defer(() => { throw new Error("first registered"); });
 * d.defer(() => { throw new Error("last registered"); });
 * try {
 *   d.dispose();
 *   assert.fail("dispose() should have thrown");
 * } catch (e) {
 *   assert.ok(e instanceof SuppressedError);
 *   assert.equal((e.error as Error).message, "first registered");
 *   assert.equal((e.suppressed as Error).message, "last registered");
 * }
 * ```
 */
export const SuppressedError: SuppressedErrorConstructorLike =
  typeof native === "function"
    ? native as SuppressedErrorConstructorLike
    : FallbackSuppressedError;
