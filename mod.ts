/**
 * A stack of cleanups that is a drop-in for the standard `DisposableStack`
 * and `AsyncDisposableStack`, with what the standard lacks: `defer(fn,
 * ...args)` binds arguments now and returns a handle to release that one
 * entry or run it early, and `release()` drops every pending entry, for the
 * release-on-success pattern.
 *
 * `defer()` returns the stack. It works with `using` and with `await using`,
 * and runs its cleanups last-in, first-out; every cleanup runs even when one
 * throws, and errors are chained with `SuppressedError` exactly as the spec
 * nests them. No dependencies; runs on Deno, Node (22 and later) and Bun.
 *
 * Beyond what a `using` block can do: `defer({ exit: true })` binds a stack
 * to the process, so its cleanups still run on Ctrl-C, SIGTERM, a crash or
 * the end of the event loop ({@linkcode setExitPolicy} sets the signals and
 * the deadline); `disposeAsync({ timeout })` stops waiting in time and names
 * the cleanup that hung ({@linkcode DisposeTimeoutError}); `d.group()`
 * disposes independent resources concurrently; {@linkcode scope} is the
 * `using` block as a function; `onFailure()`/`commit()` and an opt-in leak
 * check ({@linkcode setLeakCheck}) complete it.
 *
 * @example Clean up on failure, keep on success
 * ```ts
 * import { defer } from "@cleanup/defer";
 * import assert from "node:assert/strict";
 *
 * const log: string[] = [];
 * function openPair(ok: boolean) {
 *   using d = defer();
 *   const a = d.adopt("a.db", (name) => log.push(`close ${name}`));
 *   d.defer((name: string) => log.push(`unregister ${name}`), a);
 *   const b = d.adopt("a.idx", (name) => log.push(`close ${name}`));
 *   if (!ok) return null; // everything registered so far runs, newest first
 *   d.release(); // success: nothing runs at scope exit
 *   return [a, b];
 * }
 *
 * assert.equal(openPair(false), null);
 * assert.deepEqual(log, ["close a.idx", "unregister a.db", "close a.db"]);
 * log.length = 0;
 * assert.deepEqual(openPair(true), ["a.db", "a.idx"]);
 * assert.deepEqual(log, []);
 * ```
 *
 * @module
 */

export { defer, type DeferOptions, DeferStack } from "./src/defer_stack.ts";
export { scope } from "./src/scope.ts";
export {
  type LeakCheckOption,
  type LeakHandler,
  type LeakReport,
  setLeakCheck,
} from "./src/leak_check.ts";
export type { DeferHandle } from "./src/defer_handle.ts";
export type { DeferGroup, DeferGroupOptions } from "./src/defer_group.ts";
export {
  SuppressedError,
  type SuppressedErrorConstructorLike,
  type SuppressedErrorLike,
} from "./src/suppressed_error.ts";
export {
  type DisposeAsyncOptions,
  DisposeTimeoutError,
} from "./src/dispose_limit.ts";
export {
  type ExitCause,
  type ExitPolicy,
  type ExitReport,
  type ExitReportHandler,
  type ExitSignal,
  setExitPolicy,
} from "./src/exit.ts";
export type { AbortSignalLike } from "./src/exit_runtime.ts";
