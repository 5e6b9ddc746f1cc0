/**
 * The implementation behind {@linkcode DeferHandle}. Not exported from
 * `mod.ts`: users see only the interface.
 *
 * @module
 */

import type { DeferHandle } from "./defer_handle.ts";
import { type Slots, watchedCalls } from "./slots.ts";
import { observe, thenOf } from "./thenable.ts";

/**
 * A handle holds no cleanup, only where its entry is: the stack never
 * references it, so a handle the caller drops costs nothing to keep (and an
 * optimising compiler may not allocate it at all).
 */
export class Handle<R = unknown> implements DeferHandle<R> {
  #slots: Slots;
  /** The index of the entry's top slot; -1 once run or released here. */
  #top: number;

  // Two fields only: a kept handle is most of what a defer() entry costs.
  constructor(slots: Slots, top: number) {
    this.#slots = slots;
    this.#top = top;
  }

  get pending(): boolean {
    return this.#top >= 0 && this.#slots.isPending(this.#top);
  }

  release(): boolean {
    if (!this.pending) return false;
    const top = this.#top;
    this.#top = -1;
    this.#slots.remove(top);
    return true;
  }

  dispose(): R | undefined {
    if (!this.pending) return undefined;
    const top = this.#top;
    this.#top = -1;
    return this.#slots.runEarly(top) as R;
  }

  [Symbol.dispose](): void {
    const result = this.dispose();
    const then = thenOf(result);
    if (then !== undefined) {
      observe(result, then);
      // The promise is the cause, as for the stack's dispose(): its
      // outcome is still there to await.
      throw new TypeError(
        "DeferHandle[Symbol.dispose](): the cleanup returned a promise, which `using` cannot await. Use `await using` or await handle.dispose()",
        { cause: result },
      );
    }
  }

  [Symbol.asyncDispose](): Promise<void> {
    // On an exit-bound stack the exit waits for it, or names it, as for
    // an entry its stack's own disposal runs (see `runEarlyAsync()` in
    // exit.ts); a promise `dispose()` returned is the caller's.
    const runEarlyAsync = watchedCalls.runEarlyAsync;
    if (runEarlyAsync !== null && this.pending) {
      const top = this.#top;
      this.#top = -1;
      return runEarlyAsync(this.#slots, top);
    }
    return disposeLater(this);
  }
}

/**
 * `await handle.dispose()`, apart: a private method would give every
 * handle a brand to carry (V8: 8 bytes more per kept handle, measured).
 */
async function disposeLater(handle: Handle): Promise<void> {
  await handle.dispose();
}

/**
 * The handle of an `onFailure()` entry: also done once `commit()` released
 * every failure-only entry registered before it, which it tells from the
 * generation it was registered in. `release()` and `dispose()` go through
 * `pending`, so they see that too.
 */
export class FailureHandle<R = unknown> extends Handle<R> {
  #slots: Slots;
  #generation: number;

  constructor(slots: Slots, top: number) {
    super(slots, top);
    this.#slots = slots;
    this.#generation = slots.generation;
  }

  override get pending(): boolean {
    return this.#generation === this.#slots.generation && super.pending;
  }
}
