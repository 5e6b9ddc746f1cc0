/**
 * The constructor of the error that chains cleanup failures: the runtime's
 * own `SuppressedError` where it exists, an equivalent otherwise.
 *
 * @module
 */

/** Any function, as `Error.captureStackTrace` takes it. */
type AnyFunction = (...args: never[]) => unknown;

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
  /** The same without `new`, as the spec allows. */
  (
    error: unknown,
    suppressed: unknown,
    message?: string,
  ): SuppressedErrorLike;
  /** The prototype shared by every instance. */
  readonly prototype: SuppressedErrorLike;
}

/** The fallback's instances: an `Error` with the two spec properties. */
type FallbackInstance = Error & { error: unknown; suppressed: unknown };

/**
 * The fallback for runtimes without a native `SuppressedError` (Node 22),
 * shaped as the spec's constructor: callable with or without `new`, an own
 * `message` only when one is given, then own `error` and `suppressed` data
 * properties (writable, configurable, non-enumerable), and a prototype
 * with its own `name` and empty `message`. A function rather than a class,
 * since a class cannot be called without `new`. Exported for the tests
 * only; `mod.ts` exports {@linkcode SuppressedError}.
 */
export function FallbackSuppressedError(
  error: unknown,
  suppressed: unknown,
  message?: string,
): FallbackInstance {
  // Reflect.construct gives a real Error (a stack, the spec's handling of
  // `message`) whose prototype is that of the constructor called.
  const e = Reflect.construct(
    Error,
    message === undefined ? [] : [message],
    new.target ?? FallbackSuppressedError,
  ) as FallbackInstance;
  Object.defineProperty(e, "error", {
    value: error,
    writable: true,
    enumerable: false,
    configurable: true,
  });
  Object.defineProperty(e, "suppressed", {
    value: suppressed,
    writable: true,
    enumerable: false,
    configurable: true,
  });
  return e;
}
Object.setPrototypeOf(FallbackSuppressedError, Error);
Object.defineProperty(FallbackSuppressedError, "name", {
  value: "SuppressedError",
});
Object.defineProperty(FallbackSuppressedError, "prototype", {
  value: Object.create(Error.prototype, {
    constructor: {
      value: FallbackSuppressedError,
      writable: true,
      enumerable: false,
      configurable: true,
    },
    name: {
      value: "SuppressedError",
      writable: true,
      enumerable: false,
      configurable: true,
    },
    message: {
      value: "",
      writable: true,
      enumerable: false,
      configurable: true,
    },
  }),
  writable: false,
  enumerable: false,
  configurable: false,
});

const native = (globalThis as { SuppressedError?: unknown }).SuppressedError;

/**
 * `SuppressedError` as this runtime has it: the native constructor on Deno,
 * Bun and Node 24+, so `instanceof SuppressedError` holds for errors thrown
 * by `DeferStack`, and an equivalent constructor with the same `error` and
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
    : FallbackSuppressedError as unknown as SuppressedErrorConstructorLike;

/**
 * The message the runtime's own stacks give the errors they chain, read
 * once from a native `DisposableStack`: V8's sentence on Deno and Node,
 * none of its own on Bun (the inherited `""` shows). Without native stacks
 * (Node 22), V8's sentence, as later Node versions give it.
 */
const nativeMessage: string | undefined = (() => {
  const v8Message = "An error was suppressed during disposal";
  const Stack = (globalThis as { DisposableStack?: unknown })
    .DisposableStack as
      | (new () => { defer(fn: () => void): void; dispose(): void })
      | undefined;
  if (typeof Stack !== "function") return v8Message;
  const fail = (): void => {
    throw undefined;
  };
  try {
    const probe = new Stack();
    probe.defer(fail);
    probe.defer(fail);
    probe.dispose();
  } catch (e) {
    if (e !== null && typeof e === "object") {
      return Object.hasOwn(e, "message")
        ? (e as { message: string }).message
        : undefined;
    }
  }
  return v8Message;
})();

/**
 * Chains a cleanup's `error` over the one already `pending`, as the
 * runtime's own stacks and `using` blocks do, with the runtime's message.
 */
export function suppress(
  error: unknown,
  pending: unknown,
): SuppressedErrorLike {
  return new SuppressedError(error, pending, nativeMessage);
}

/** `Error` with the V8 extensions the untraced chaining relies on. */
const ErrorWithTrace = Error as unknown as {
  stackTraceLimit?: unknown;
  captureStackTrace?: (error: object, below: AnyFunction) => void;
};

/**
 * The engine's `Error.captureStackTrace`, kept from load: one a program
 * puts in its place later might throw in the middle of a disposal.
 */
const captureStackTrace = typeof ErrorWithTrace.captureStackTrace === "function"
  ? ErrorWithTrace.captureStackTrace
  : undefined;

/**
 * Whether making the links of a chain untraced pays here. It does where
 * an error made while `Error.stackTraceLimit` is 0 skips the capture and
 * still has a `stack` string (V8 under Node: its first line). Not on
 * JavaScriptCore, which then gives no `stack` at all, so inner links
 * would lack one; not on Deno, which captures a trace of every error for
 * itself whatever the limit (measured: construction costs as much at 0,
 * and grows with the depth of the stack), so setting the limit only adds
 * cost (0.4 µs a link).
 */
const untracedPays: boolean = (() => {
  if (typeof (globalThis as { Deno?: unknown }).Deno === "object") {
    return false;
  }
  const limit = writableLimit();
  if (limit === null || captureStackTrace === undefined) return false;
  ErrorWithTrace.stackTraceLimit = 0;
  try {
    return typeof new Error().stack === "string";
  } finally {
    ErrorWithTrace.stackTraceLimit = limit;
  }
})();

/**
 * `Error.stackTraceLimit` if it is a writable data property holding a
 * number other than 0, else `null`: read from its descriptor, so that no
 * accessor installed on it runs (the built-ins never read it).
 */
function writableLimit(): number | null {
  const descriptor = Object.getOwnPropertyDescriptor(Error, "stackTraceLimit");
  if (descriptor === undefined || descriptor.writable !== true) return null;
  const limit: unknown = descriptor.value;
  return typeof limit === "number" && limit !== 0 ? limit : null;
}

/**
 * {@linkcode suppress} without capturing a stack trace where that pays
 * (Node), for a loop that chains many errors: the capture costs V8 more
 * than the rest of a failed cleanup (disposing 10^4 throwing entries on
 * Node 26 took 2.6 times as long). Every link of one chain
 * would be traced at the same place anyway; the loop gives the error it
 * throws its trace with {@linkcode traceFrom}.
 */
export function suppressUntraced(
  error: unknown,
  pending: unknown,
): SuppressedErrorLike {
  if (!untracedPays) return new SuppressedError(error, pending, nativeMessage);
  // Checked at every call: an accessor installed since the module loaded
  // must not run, and a setter could throw inside the loop.
  const limit = writableLimit();
  if (limit === null) return new SuppressedError(error, pending, nativeMessage);
  ErrorWithTrace.stackTraceLimit = 0;
  try {
    return new SuppressedError(error, pending, nativeMessage);
  } finally {
    ErrorWithTrace.stackTraceLimit = limit;
  }
}

/**
 * Gives `error`, made by {@linkcode suppressUntraced}, the stack trace from
 * the caller of `below` on: what the built-in's error shows, without the
 * library's own frames. Where there is no `Error.captureStackTrace`, the
 * error keeps what it has.
 */
export function traceFrom(
  error: SuppressedErrorLike,
  below: AnyFunction,
): void {
  if (captureStackTrace !== undefined) captureStackTrace(error, below);
}
