/**
 * The stack of cleanups: a drop-in for `DisposableStack` and
 * `AsyncDisposableStack` with per-entry handles.
 *
 * @module
 */

import { checkFields } from "./options.ts";
import type { DeferHandle } from "./defer_handle.ts";
import {
  callerFrames,
  createsStacks,
  leakCheckDefault,
  type LeakCheckOption,
  leakHandlerFor,
  type LeakWatch,
  unwatch,
  watch,
} from "./leak_check.ts";
import {
  type Callable,
  enterCall,
  leaveCall,
  Slots,
  watchedCalls,
} from "./slots.ts";
import { describe } from "./describe.ts";
import { unsupported } from "./engine.ts";
import {
  adoptEntry,
  notCallable,
  restOf,
  settleSync,
  useEntry,
} from "./entries.ts";
import { FailureHandle, Handle } from "./handle.ts";
import {
  type DisposeAsyncOptions,
  type Limits,
  limitsOf,
  unwindLimited,
} from "./dispose_limit.ts";
import {
  bindExit,
  disposalStarts,
  exitSequence,
  moveExit,
  nestedDisposalStarts,
  readStorageWith,
} from "./exit.ts";
import { rejected, resolved } from "./thenable.ts";
import {
  commitGroups,
  type DeferGroup,
  type DeferGroupOptions,
  dropGroups,
  groupLimit,
  openGroup,
} from "./defer_group.ts";

/**
 * Options for {@linkcode defer} and the {@linkcode DeferStack} constructor.
 *
 * @example
 * ```ts
 * import { defer, type DeferOptions } from "@cleanup/defer";
 * import assert from "node:assert/strict";
 *
 * const options: DeferOptions = { leakCheck: true };
 * const d = defer(options);
 * d.defer(() => {});
 * d.dispose(); // disposed in time: nothing is reported
 * assert.equal(d.disposed, true);
 * ```
 */
export interface DeferOptions {
  /**
   * Report this stack if it is garbage-collected while entries are still
   * pending: `true` warns on the console, a function receives the
   * {@linkcode LeakReport}, `false` turns the check off for this stack.
   * Defaults to what {@linkcode setLeakCheck} set (off unless set). Define
   * a handler away from cleanups that close over the stack: closures made
   * in one function share a scope, so it would reach, and keep, the stack.
   */
  leakCheck?: LeakCheckOption;
  /**
   * Bind the stack to the life of the process: while it is open, it is
   * disposed at the latest when the process ends, whatever ends it (SIGINT,
   * SIGTERM, the event loop running dry, an uncaught exception or unhandled
   * rejection, `process.exit()`). See {@linkcode setExitPolicy} for the
   * signals, the deadline and the report. Disposing the stack unbinds it
   * once that disposal is done: if the process is to end during it, the
   * exit cleanup waits for it (or, at `exit()`, runs the rest of it); a
   * signal only while another exit-bound stack is still open.
   * Throws where there is no process (a browser).
   */
  exit?: boolean;
}

/** See `DeferStack.#extras`. */
interface Extras {
  /** Set when the leak check is on for this stack. */
  watch: LeakWatch | null;
  /** Bound to the process ({@linkcode DeferOptions.exit}). */
  exit: boolean;
}

/**
 * The entries `move()` hands to the stack it creates, for the constructor
 * to take instead of making its own; `null` at every other time.
 */
let handedOver: Slots | null = null;

/**
 * A stack of cleanups that runs them last-in, first-out when disposed. It is
 * a drop-in for both standard stacks, `DisposableStack` and
 * `AsyncDisposableStack`: `using d = defer()` disposes it synchronously,
 * `await using d = defer()` asynchronously, awaiting each cleanup in turn.
 *
 * Beyond the standard: {@linkcode DeferStack.defer} binds arguments and
 * returns a {@linkcode DeferHandle} for its entry, {@linkcode DeferStack.release}
 * drops every pending entry (release on success),
 * {@linkcode DeferStack.onFailure} adds a cleanup that runs only if
 * {@linkcode DeferStack.commit} is never called, and
 * {@linkcode DeferStack.size} counts the pending entries. The constructor
 * takes {@linkcode DeferOptions} (the leak check).
 *
 * @example Cleanups run in reverse order of registration
 * ```ts
 * import { DeferStack } from "@cleanup/defer";
 * import assert from "node:assert/strict";
 *
 * const log: string[] = [];
 * const d = new DeferStack();
 * d.defer((what: string) => log.push(what), "first registered");
 * d.adopt("second registered", (what) => log.push(what));
 * d.dispose();
 * assert.deepEqual(log, ["second registered", "first registered"]);
 * assert.equal(d.disposed, true);
 * ```
 */
export class DeferStack {
  /** The entries; `null` once the stack is disposed or moved. */
  #storage: Slots | null;
  /**
   * What only some stacks have (the leak check, the exit binding), in one
   * field: a plain stack pays one null check per disposal for both.
   */
  #extras: Extras | null = null;

  static {
    // The exit machinery finds the stack an entry run early belongs to.
    readStorageWith((stack) => stack.#storage);
  }

  /**
   * Creates an empty stack; the same as {@linkcode defer}.
   *
   * @param options See {@linkcode DeferOptions}.
   * @throws {TypeError} If `options` is not an object, has a bad value or a
   * field other than `leakCheck` and `exit`, or if the engine lacks
   * `Symbol.dispose` or `Symbol.asyncDispose`.
   */
  constructor(options?: DeferOptions) {
    if (handedOver !== null) {
      // move(): the new stack takes the old one's entries as they are.
      this.#storage = handedOver;
      handedOver = null;
      return;
    }
    this.#storage = new Slots();
    // The common `defer()` has nothing to check or set up: one branch.
    if (options !== undefined || unsupported !== null || leakCheckDefault()) {
      this.#setUp(options);
    }
  }

  /** The constructor's work for options, a default leak check, an old engine. */
  #setUp(options: DeferOptions | undefined): void {
    // Without the symbols the stack could not work with `using` at all:
    // say so here, not with a misleading error at the first use().
    if (unsupported !== null) throw new TypeError(unsupported);
    if (
      options !== undefined && (options === null || typeof options !== "object")
    ) {
      throw new TypeError(
        `DeferStack: options must be an object, got ${describe(options)}`,
      );
    }
    if (options !== undefined) {
      checkFields(options, ["leakCheck", "exit"], "DeferStack");
    }
    const handler = leakHandlerFor(options?.leakCheck);
    let exit = false;
    if (options !== undefined && options.exit !== undefined) {
      if (typeof options.exit !== "boolean") {
        throw new TypeError(
          `DeferStack: options.exit must be a boolean, got ${
            describe(options.exit)
          }`,
        );
      }
      exit = options.exit;
    }
    if (handler !== null || exit) {
      if (exit) bindExit(this); // throws where there is no process
      this.#extras = {
        watch: handler === null ? null : watch(
          this,
          (this.#storage as Slots).separateTally(),
          handler,
          // From the caller of defer() or scope(), or of the constructor.
          callerFrames(DeferStack),
          exit,
        ),
        exit,
      };
    }
  }

  /** Whether the stack has been disposed or moved (true during disposal). */
  get disposed(): boolean {
    return this.#storage === null;
  }

  /**
   * The number of entries still pending. `use(null)` and `use(undefined)`
   * are not counted; a group (`group()`) is one entry, whatever it holds;
   * it is 0 once the stack is disposed.
   */
  get size(): number {
    return this.#storage === null ? 0 : this.#storage.tally.live;
  }

  /**
   * Adds a disposable value to the stack and returns it. Its
   * `Symbol.asyncDispose` and `Symbol.dispose` methods are read once, now:
   * `dispose()` calls `Symbol.dispose`, `disposeAsync()` prefers
   * `Symbol.asyncDispose` and falls back to `Symbol.dispose`. `null` and
   * `undefined` are returned as they are and not counted in `size`.
   *
   * @param value A `Disposable`, an `AsyncDisposable`, `null` or `undefined`.
   * @returns `value`.
   * @throws {ReferenceError} If the stack is already disposed.
   * @throws {TypeError} If `value` is not an object, or has neither method
   * callable; nothing is recorded then.
   *
   * @example
   * ```ts
   * import { defer } from "@cleanup/defer";
   * import assert from "node:assert/strict";
   *
   * let closed = false;
   * const d = defer();
   * const file = d.use({ [Symbol.dispose]() { closed = true; } });
   * d.dispose();
   * assert.equal(closed, true);
   * assert.ok(file);
   * ```
   */
  use<T extends AsyncDisposable | Disposable | null | undefined>(value: T): T {
    const storage = this.#storage;
    if (storage === null) throw disposedError("use");
    return useEntry(storage, value, "DeferStack");
  }

  /**
   * Adds a value with the cleanup that disposes it, and returns the value.
   * At disposal, `onDispose(value)` runs with `this` undefined; under
   * `disposeAsync()` its result is awaited.
   *
   * @param value Any value, `null` and `undefined` included.
   * @param onDispose The function that disposes `value`.
   * @returns `value`.
   * @throws {ReferenceError} If the stack is already disposed.
   * @throws {TypeError} If `onDispose` is not callable.
   *
   * @example
   * ```ts
   * import { defer } from "@cleanup/defer";
   * import assert from "node:assert/strict";
   *
   * const closed: number[] = [];
   * const d = defer();
   * const fd = d.adopt(42, (fd) => closed.push(fd));
   * d.dispose();
   * assert.deepEqual(closed, [fd]);
   * ```
   */
  adopt<T>(value: T, onDispose: (value: T) => unknown): T {
    const storage = this.#storage;
    if (storage === null) throw disposedError("adopt");
    return adoptEntry(storage, value, onDispose, "DeferStack");
  }

  /**
   * Registers `onDispose()` to run when the stack is disposed, and returns
   * a handle for the entry: {@linkcode DeferStack.defer} without bound
   * arguments, which takes an overloaded function as the built-in's
   * `defer()` does.
   *
   * @param onDispose The cleanup.
   * @returns A {@linkcode DeferHandle} for this entry.
   */
  defer<R>(onDispose: () => R): DeferHandle<R>;
  /**
   * Adds a cleanup to run at disposal as `onDispose(...args)`, `this`
   * undefined. The arguments are bound now, so a loop variable keeps the
   * value it had at registration. Under `disposeAsync()` the result is
   * awaited.
   *
   * Unlike the standard `defer()`, which returns `undefined`, this returns a
   * handle for the entry: release it, run it early, or ask whether it is
   * still pending.
   *
   * TypeScript checks the arguments against the last overload of an
   * overloaded `onDispose` only; bind such a function through an arrow:
   * `d.defer((x: string) => overloaded(x), x)`.
   *
   * @param onDispose The cleanup.
   * @param args Arguments passed to `onDispose` when it runs.
   * @returns A {@linkcode DeferHandle} for this entry.
   * @throws {ReferenceError} If the stack is already disposed.
   * @throws {TypeError} If `onDispose` is not callable.
   *
   * @example
   * ```ts
   * import { defer } from "@cleanup/defer";
   * import assert from "node:assert/strict";
   *
   * const removed: string[] = [];
   * const d = defer();
   * for (const name of ["a", "b", "c"]) {
   *   d.defer((n: string) => removed.push(n), name);
   * }
   * const handle = d.defer(() => removed.push("never"));
   * handle.release();
   * d.dispose();
   * assert.deepEqual(removed, ["c", "b", "a"]);
   * ```
   */
  defer<A extends unknown[], R>(
    onDispose: (...args: A) => R,
    ...args: A
  ): DeferHandle<R>;
  /**
   * {@linkcode DeferStack.defer} of an overloaded function whose overloads
   * return different types, without bound arguments: its handle's
   * `dispose()` is typed `unknown`.
   *
   * @param onDispose The cleanup.
   * @returns A {@linkcode DeferHandle} for this entry.
   */
  defer(onDispose: () => unknown): DeferHandle<unknown>;
  // The arguments are read from `arguments` rather than a rest parameter:
  // the common `defer(fn)` then allocates no array, and stores one slot.
  defer(onDispose: Callable): DeferHandle {
    const storage = this.#storage;
    if (storage === null) throw disposedError("defer");
    if (typeof onDispose !== "function") {
      throw notCallable("DeferStack", "defer", "onDispose", onDispose);
    }
    // Inline, not shared with the other class: the common defer(fn) must
    // stay small enough for engines to inline it, and its handle then to
    // be optimised away when the caller drops it.
    const count = arguments.length;
    const top = count === 1
      ? storage.addDefer(onDispose)
      : count === 2
      ? storage.addDeferWith(onDispose, arguments[1], false)
      : storage.addDeferWith(onDispose, restOf(arguments), true);
    return new Handle(storage, top);
  }

  /**
   * Registers `onFailure()` to run only if the scope fails, and returns a
   * handle for the entry: {@linkcode DeferStack.onFailure} without bound
   * arguments, which takes an overloaded function as `defer()` does.
   *
   * @param onFailure The cleanup.
   * @returns A {@linkcode DeferHandle} for this entry.
   */
  onFailure<R>(onFailure: () => R): DeferHandle<R>;
  /**
   * Adds a cleanup that runs only if the scope fails: at disposal, in the
   * same last-in, first-out order as every other entry, unless
   * {@linkcode DeferStack.commit} was called first. Arguments are bound
   * now, as for {@linkcode DeferStack.defer}. The rollback of a transaction
   * is failure-only; closing its connection is not.
   *
   * Inside {@linkcode scope} the outcome comes from the body (a throw or a
   * rejection is a failure); under `using`, call `commit()` on the success
   * path. A stack disposed without `commit()` counts as failed.
   *
   * This is an extension; the standard stacks have no such method.
   *
   * @param onFailure The cleanup to run on failure.
   * @param args Arguments passed to `onFailure` when it runs.
   * @returns A {@linkcode DeferHandle} for this entry.
   * @throws {ReferenceError} If the stack is already disposed.
   * @throws {TypeError} If `onFailure` is not callable.
   *
   * @example A transaction: roll back on failure, always close
   * ```ts
   * import { defer } from "@cleanup/defer";
   * import assert from "node:assert/strict";
   *
   * const log: string[] = [];
   * function transfer(ok: boolean): void {
   *   using d = defer();
   *   log.push("begin");
   *   d.defer(() => log.push("close connection"));
   *   d.onFailure(() => log.push("rollback"));
   *   if (!ok) throw new Error("insufficient funds");
   *   log.push("commit");
   *   d.commit(); // success: the rollback is released
   * }
   *
   * transfer(true);
   * assert.deepEqual(log, ["begin", "commit", "close connection"]);
   * log.length = 0;
   * assert.throws(() => transfer(false), /insufficient funds/);
   * assert.deepEqual(log, ["begin", "rollback", "close connection"]);
   * ```
   */
  onFailure<A extends unknown[], R>(
    onFailure: (...args: A) => R,
    ...args: A
  ): DeferHandle<R>;
  /**
   * {@linkcode DeferStack.onFailure} of an overloaded function whose overloads
   * return different types, without bound arguments: its handle's
   * `dispose()` is typed `unknown`.
   *
   * @param onFailure The cleanup.
   * @returns A {@linkcode DeferHandle} for this entry.
   */
  onFailure(onFailure: () => unknown): DeferHandle<unknown>;
  onFailure(onFailure: Callable): DeferHandle {
    const storage = this.#storage;
    if (storage === null) throw disposedError("onFailure");
    if (typeof onFailure !== "function") {
      throw notCallable("DeferStack", "onFailure", "onFailure", onFailure);
    }
    const count = arguments.length - 1;
    const top = storage.addFailure(
      onFailure,
      count === 1 ? arguments[1] : count > 1 ? restOf(arguments) : undefined,
      count,
    );
    return new FailureHandle(storage, top);
  }

  /**
   * Declares success: every pending {@linkcode DeferStack.onFailure} entry
   * is released (it will never run); every other entry still runs at
   * disposal. Failure-only entries added later are pending again until the
   * next `commit()`. {@linkcode scope} calls this when its body succeeds.
   *
   * This is an extension; the standard stacks have no such method.
   *
   * @returns The number of failure-only entries released.
   * @throws {ReferenceError} If the stack is already disposed.
   *
   * @example
   * ```ts
   * import { defer } from "@cleanup/defer";
   * import assert from "node:assert/strict";
   *
   * const d = defer();
   * const rollback = d.onFailure(() => {});
   * d.defer(() => {});
   * assert.equal(d.commit(), 1);
   * assert.equal(rollback.pending, false);
   * assert.equal(d.size, 1);
   * ```
   */
  commit(): number {
    const storage = this.#storage;
    if (storage === null) throw disposedError("commit");
    // The failure-only members of groups registered here belong to this
    // scope too.
    return storage.commit() + commitGroups(storage);
  }

  /**
   * Drops every pending entry: none of them will run, their handles say they
   * are no longer pending. The stack stays open for new entries. This is the
   * release-on-success pattern: register cleanups while acquiring, and keep
   * everything once all of it succeeded.
   *
   * This is an extension; the standard stacks have no such method.
   *
   * @returns The number of entries dropped.
   * @throws {ReferenceError} If the stack is already disposed.
   *
   * @example Release on success
   * ```ts
   * import { defer } from "@cleanup/defer";
   * import assert from "node:assert/strict";
   *
   * const open = new Set<string>();
   * function openBoth(): string[] {
   *   const d = defer();
   *   try {
   *     for (const name of ["a", "b"]) {
   *       open.add(name);
   *       d.defer((n: string) => open.delete(n), name);
   *     }
   *     d.release(); // all acquired: keep them
   *     return [...open];
   *   } finally {
   *     d.dispose(); // closes what was acquired, unless released
   *   }
   * }
   * assert.deepEqual(openBoth(), ["a", "b"]);
   * assert.equal(open.size, 2);
   * ```
   */
  release(): number {
    const storage = this.#storage;
    if (storage === null) throw disposedError("release");
    const dropped = storage.tally.live;
    storage.retire();
    dropGroups(storage); // their members go with them
    const fresh = new Slots();
    this.#storage = fresh;
    const extras = this.#extras;
    if (extras !== null && extras.watch !== null) {
      extras.watch.tally = fresh.separateTally();
    }
    return dropped;
  }

  /**
   * Adds a concurrent disposal group as the newest entry and returns it.
   * Its members are registered as on a stack (`use`, `adopt`, `defer`,
   * `onFailure`); when `disposeAsync()` reaches the group, they are all
   * started, newest first, and awaited together (at most `limit` at once);
   * under `dispose()` they run one after another. Errors chain in the
   * order this stack would give the same entries, whichever settles first.
   * See {@linkcode DeferGroup}.
   *
   * This is an extension; the standard stacks have no such method.
   *
   * @param options See {@linkcode DeferGroupOptions}: the `limit`.
   * @returns The group, an entry of this stack.
   * @throws {ReferenceError} If the stack is already disposed.
   * @throws {TypeError} If `options` is not an object, has a field other than
   * `limit`, or `limit` is not a number.
   * @throws {RangeError} If `limit` is not a positive integer or `Infinity`.
   *
   * @example Close a pool's connections at once, then the pool
   * ```ts
   * import { defer } from "@cleanup/defer";
   * import assert from "node:assert/strict";
   *
   * const log: string[] = [];
   * const d = defer();
   * d.defer(() => log.push("pool closed"));
   * const connections = d.group({ limit: 8 });
   * for (let i = 0; i < 20; i++) {
   *   connections.defer(async (id: number) => {
   *     await new Promise((r) => setTimeout(r, 5));
   *     log.push(`connection ${id} closed`);
   *   }, i);
   * }
   * await d.disposeAsync();
   * assert.equal(log.length, 21);
   * assert.equal(log.at(-1), "pool closed");
   * ```
   */
  group(options?: DeferGroupOptions): DeferGroup {
    if (this.#storage === null) throw disposedError("group");
    // The options first: a `limit` getter may dispose or release the stack.
    const limit = groupLimit(options);
    const storage = this.#storage;
    if (storage === null) throw disposedError("group");
    const extras = this.#extras;
    return openGroup(storage, limit, extras?.exit ? exitSequence(this) : -1);
  }

  /**
   * Moves every pending entry, in order, to a new stack and marks this one
   * disposed without running anything. Handles follow their entries. Takes
   * constant time whatever the size of the stack.
   *
   * @returns The new stack, holding the entries.
   * @throws {ReferenceError} If the stack is already disposed.
   *
   * @example Hand resources over to a longer-lived owner
   * ```ts
   * import { defer, DeferStack } from "@cleanup/defer";
   * import assert from "node:assert/strict";
   *
   * const log: string[] = [];
   * function acquire(): DeferStack {
   *   const d = defer();
   *   d.defer(() => log.push("closed"));
   *   return d.move(); // d is now disposed and empty
   * }
   * const owner = acquire();
   * assert.deepEqual(log, []);
   * owner.dispose();
   * assert.deepEqual(log, ["closed"]);
   * ```
   */
  move(): DeferStack {
    const storage = this.#storage;
    if (storage === null) throw disposedError("move");
    // Made without a Slots of its own or the constructor's checks; the
    // leak check and the exit binding are handed over below. Cleared in
    // `finally`: the call can overflow the call stack before the
    // constructor runs, and the next stack created must not take these
    // entries.
    handedOver = storage;
    let next: DeferStack;
    try {
      next = new DeferStack();
    } finally {
      handedOver = null;
    }
    this.#storage = null;
    const extras = this.#extras;
    if (extras !== null) {
      this.#extras = null;
      const w = extras.watch;
      if (w !== null) unwatch(this, w);
      next.#extras = {
        watch: w === null
          ? null
          : watch(next, storage.tally, w.handler, w.createdAt, w.exitBound),
        exit: extras.exit,
      };
      // The new stack takes this one's place among the exit-bound stacks.
      if (extras.exit) moveExit(this, next);
    }
    return next;
  }

  /**
   * Disposes the stack: marks it disposed, then runs every pending entry in
   * reverse order of registration. Every entry runs even if others throw;
   * errors are chained as the spec does. Does nothing if already disposed.
   *
   * Async work is never dropped silently: an entry that can only be
   * disposed asynchronously (a value with only `Symbol.asyncDispose`), or a
   * cleanup that returns a promise, is still started, but `dispose()` then
   * throws a `TypeError` at that entry's place in the chain, telling to use
   * `await using` or `disposeAsync()`; the promise's rejection is handled.
   *
   * `this[Symbol.dispose]` is this same function.
   *
   * @throws The single error a cleanup threw, or a `SuppressedError` chain
   * when several did: for entries registered 1, 2, 3 that all throw,
   * `SuppressedError { error: e1, suppressed: SuppressedError { error: e2,
   * suppressed: e3 } }`.
   *
   * @example
   * ```ts
   * import { defer } from "@cleanup/defer";
   * import assert from "node:assert/strict";
   *
   * const d = defer();
   * d.defer(() => { throw new Error("only error"); });
   * assert.throws(() => d.dispose(), { message: "only error" });
   * assert.equal(d.disposed, true);
   * ```
   */
  dispose(): void {
    const storage = this.#storage;
    if (storage === null) return;
    this.#storage = null;
    if (this.#extras !== null) return this.#disposeDetached(storage);
    // Also watches a disposal made inside an exit-bound stack's (see
    // `watchedCalls`).
    storage.unwindSync(settleSync, "DeferStack");
  }

  /**
   * `dispose()` of a leak-checked or exit-bound stack, apart: a
   * `try`/`finally` in `dispose()` itself cost every 3-entry stack 16–20%
   * on Deno.
   */
  #disposeDetached(storage: Slots): void {
    this.#detach(storage, false);
    if (storage.watcher === null) {
      storage.unwindSync(settleSync, "DeferStack");
      return;
    }
    // Each entry is called by a watched loop: a stack it disposes is
    // watched too.
    const saved = enterCall(storage.watcher);
    try {
      storage.unwindSync(settleSync, "DeferStack");
    } finally {
      leaveCall(saved);
      // Until here a cleanup that calls `process.exit()` finds the rest
      // run for it (see exit.ts).
      if (storage.watcher !== null) storage.watcher.done(storage);
    }
  }

  /**
   * Disposes the stack asynchronously: marks it disposed, then runs every
   * pending entry in reverse order of registration, awaiting each before the
   * next, exactly as `AsyncDisposableStack.prototype.disposeAsync` does (the
   * same awaits, so the order of other microtasks matches the built-in).
   * Resolves at once if already disposed. Never throws synchronously.
   *
   * `this[Symbol.asyncDispose]` is this same function.
   *
   * With `{ timeout }` (milliseconds) or `{ signal }` (an `AbortSignal`),
   * an extension, it stops waiting at the deadline or on abort: the stack
   * is disposed, the cleanup still running goes on unobserved (its later
   * rejection is handled), the entries not yet started never run, and the
   * promise rejects with a {@linkcode DisposeTimeoutError} naming both.
   * Errors of earlier cleanups are chained before it as usual:
   * `SuppressedError { error: DisposeTimeoutError, suppressed: <earlier> }`.
   * Entries run in the same order with the same error chain as without an
   * argument; only the microtask timing differs (each await is a race). An
   * object with a bad `signal` or `timeout` gives a rejected promise
   * (TypeError or RangeError) and leaves the stack open, nothing run; an
   * argument that is not an object is ignored, as the built-in ignores it,
   * and a disposed stack resolves whatever it is given. Other fields are
   * not checked, unlike the options of `defer()` and `group()`:
   * `promise.then(d.disposeAsync.bind(d))` passes whatever the promise
   * settled with. A misspelt `timout` therefore sets no deadline.
   *
   * @param options See {@linkcode DisposeAsyncOptions}; optional.
   * @returns A promise that resolves when every entry has run, or rejects
   * with the single error or `SuppressedError` chain, as `dispose()` throws.
   *
   * @example
   * ```ts
   * import { defer } from "@cleanup/defer";
   * import assert from "node:assert/strict";
   *
   * const log: string[] = [];
   * const d = defer();
   * d.defer(async () => {
   *   await Promise.resolve();
   *   log.push("flushed");
   * });
   * d.defer(() => log.push("closed"));
   * await d.disposeAsync();
   * assert.deepEqual(log, ["closed", "flushed"]);
   * ```
   *
   * @example A deadline
   * ```ts
   * import { defer, DisposeTimeoutError } from "@cleanup/defer";
   * import assert from "node:assert/strict";
   *
   * const d = defer();
   * d.defer(function removeTempDir() {});
   * d.defer(function hang() {
   *   return new Promise(() => {});
   * });
   * await assert.rejects(d.disposeAsync({ timeout: 10 }), (e) => {
   *   assert.ok(e instanceof DisposeTimeoutError);
   *   assert.deepEqual([e.running, e.notStarted], [["hang"], ["removeTempDir"]]);
   *   return true;
   * });
   * ```
   */
  disposeAsync(options?: DisposeAsyncOptions): Promise<void>;
  // The argument is read from `arguments`, so that `disposeAsync.length` is
  // 0 as on the built-in, and the argument-free call stays the plain loop.
  disposeAsync(): Promise<void> {
    // Only an object is read as options: the built-in ignores its argument,
    // and `promise.then(d.disposeAsync.bind(d))` passes whatever settled.
    // A disposed stack does nothing, whatever it is given. Not an async
    // function itself: reading `arguments` there costs JavaScriptCore an
    // arguments object per call.
    if (!DeferStack.#isStack(this)) {
      return rejected(
        new TypeError("DeferStack.disposeAsync(): this is not a DeferStack"),
      );
    }
    if (
      arguments.length !== 0 && typeof arguments[0] === "object" &&
      arguments[0] !== null && this.#storage !== null
    ) {
      let limits: Limits | null;
      try {
        limits = limitsOf(arguments[0], "DeferStack.disposeAsync()");
      } catch (e) {
        return rejected(e);
      }
      if (limits !== null) return this.#disposeLimited(limits);
    }
    return this.#unwindAsync();
  }

  /** Whether `value` is a `DeferStack`: its brand, as the built-ins check. */
  static #isStack(value: unknown): boolean {
    return typeof value === "object" && value !== null && #storage in value;
  }

  /** `disposeAsync()` without a deadline: the spec's loop. */
  #unwindAsync(): Promise<void> {
    const storage = this.#storage;
    if (storage === null) return resolved();
    this.#storage = null;
    if (this.#extras !== null || watchedCalls.depth !== 0) {
      this.#detach(storage, true);
      // Watched by the exit machinery, which asks whether an entry's call
      // has returned (see `Slots.calling()`): a loop that tells it. The
      // plain loop stays free of it.
      if (storage.watcher !== null) return storage.unwindAsyncWatched();
    }
    return storage.unwindAsync();
  }

  /**
   * Disposal started: stop the leak check; an exit-bound stack, or one
   * disposed from inside the call of a watched loop's entry, is watched
   * by the exit machinery until its disposal ends.
   */
  #detach(storage: Slots, async: boolean): void {
    const extras = this.#extras;
    if (extras !== null) {
      if (extras.watch !== null) unwatch(this, extras.watch);
      if (extras.exit) disposalStarts(this, storage, async);
    }
    if (storage.watcher === null && watchedCalls.depth !== 0) {
      nestedDisposalStarts(storage, async);
    }
  }

  /** `disposeAsync({ signal, timeout })`: see dispose_limit.ts. */
  #disposeLimited(limits: Limits): Promise<void> {
    const storage = this.#storage;
    if (storage === null) return resolved();
    this.#storage = null;
    if (this.#extras !== null || watchedCalls.depth !== 0) {
      this.#detach(storage, true);
    }
    return unwindLimited(storage, limits, "DeferStack.disposeAsync()");
  }

  /** The same function as {@linkcode DeferStack.dispose}, for `using`. */
  declare [Symbol.dispose]: () => void;
  /** The same function as {@linkcode DeferStack.disposeAsync}, for `await using`. */
  declare [Symbol.asyncDispose]: () => Promise<void>;
  /** `"DeferStack"`, for `Object.prototype.toString`. */
  declare readonly [Symbol.toStringTag]: string;
}

// As on the built-ins: the symbol-keyed methods are the very same functions,
// and like every class method they are non-enumerable.
Object.defineProperties(DeferStack.prototype, {
  [Symbol.dispose]: {
    value: DeferStack.prototype.dispose,
    writable: true,
    enumerable: false,
    configurable: true,
  },
  [Symbol.asyncDispose]: {
    value: DeferStack.prototype.disposeAsync,
    writable: true,
    enumerable: false,
    configurable: true,
  },
  [Symbol.toStringTag]: {
    value: "DeferStack",
    writable: false,
    enumerable: false,
    configurable: true,
  },
});

/**
 * Creates an empty {@linkcode DeferStack}: the stack of cleanups, usable with
 * `using` and with `await using`.
 *
 * @param options See {@linkcode DeferOptions}: the leak check.
 * @returns A new, empty stack.
 *
 * @example Release on success with `using`
 * ```ts
 * import { defer } from "@cleanup/defer";
 * import assert from "node:assert/strict";
 *
 * const log: string[] = [];
 * function acquire(fail: boolean): string[] {
 *   using d = defer();
 *   const items = ["a", "b"].map((name) => {
 *     log.push(`open ${name}`);
 *     d.defer((n: string) => log.push(`close ${n}`), name);
 *     return name;
 *   });
 *   if (fail) throw new Error("setup failed");
 *   d.release(); // success: keep them open
 *   return items;
 * }
 *
 * assert.throws(() => acquire(true), { message: "setup failed" });
 * assert.deepEqual(log, ["open a", "open b", "close b", "close a"]);
 * log.length = 0;
 * assert.deepEqual(acquire(false), ["a", "b"]);
 * assert.deepEqual(log, ["open a", "open b"]);
 * ```
 */
export function defer(options?: DeferOptions): DeferStack {
  return new DeferStack(options);
}
createsStacks(defer);

function disposedError(method: string): ReferenceError {
  return new ReferenceError(
    `DeferStack.${method}(): the stack is already disposed`,
  );
}
