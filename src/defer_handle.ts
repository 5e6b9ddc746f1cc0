/**
 * The handle `DeferStack.defer()` returns for its one entry.
 *
 * @module
 */

/**
 * A handle on one entry of a {@linkcode DeferStack}, returned by
 * `DeferStack.defer()`. It lets the caller release that entry (it will never
 * run) or run it early (it runs at most once), and tells whether it is still
 * pending. It follows its entry when the stack is `move()`d. `R` is what the
 * cleanup returns. A handle is itself `Disposable` and `AsyncDisposable`:
 * disposing it runs the entry early.
 *
 * @example Run one cleanup early, release another
 * ```ts
 * import { defer } from "@cleanup/defer";
 * import assert from "node:assert/strict";
 *
 * const log: string[] = [];
 * const d = defer();
 * const close = d.defer((name: string) => log.push(`close ${name}`), "a");
 * const unlink = d.defer((name: string) => log.push(`unlink ${name}`), "b");
 *
 * close.dispose(); // runs now...
 * assert.equal(close.pending, false);
 * assert.equal(unlink.release(), true); // ...and this one never will
 *
 * d.dispose(); // nothing left to run
 * assert.deepEqual(log, ["close a"]);
 * ```
 */
export interface DeferHandle<R = unknown> extends Disposable, AsyncDisposable {
  /**
   * Whether the entry is still waiting to run: `true` until it runs (at
   * disposal or through {@linkcode DeferHandle.dispose}), is released, or
   * its stack drops it with `release()`.
   */
  readonly pending: boolean;

  /**
   * Takes the entry off its stack without running it. The cleanup and its
   * bound arguments are no longer referenced by the stack. Works during the
   * stack's disposal too: an entry not yet reached is then skipped.
   *
   * @returns `true` if the entry was pending, `false` if it had already run
   * or been released (then nothing happens).
   */
  release(): boolean;

  /**
   * Runs the entry now, if it is still pending, and takes it off its stack.
   * It is marked done before the call, so it runs at most once even if it
   * throws. Errors propagate to the caller.
   *
   * @returns what the cleanup returned (a promise for an async cleanup, for
   * the caller to await), or `undefined` if the entry was not pending.
   */
  dispose(): R | undefined;

  /**
   * Runs the entry now, as {@linkcode DeferHandle.dispose} does, for
   * `using h = d.defer(...)` and for anything that takes a `Disposable`.
   * As a stack's `dispose()` does, it never drops async work silently: if
   * the cleanup returns a promise, that promise's rejection is handled and
   * a `TypeError` telling to use `await using` is thrown.
   */
  [Symbol.dispose](): void;

  /**
   * Runs the entry now and awaits what it returned, for
   * `await using h = d.defer(...)` and anything that takes an
   * `AsyncDisposable`.
   */
  [Symbol.asyncDispose](): Promise<void>;
}
