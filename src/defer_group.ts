/**
 * Concurrent disposal groups: `d.group()` (#12).
 *
 * A group is one entry of its parent (a stack or another group), registered
 * as a value with both `Symbol.dispose` and `Symbol.asyncDispose`, exactly
 * as `d.use(group)` would register it: the parent's loops, `move()`, the
 * deadline and the exit machinery need nothing new to run it. Its members
 * live in a `Slots` of their own, registered and decoded as a stack's are.
 *
 * What the parent cannot see through `use()` is told through three
 * functions called from outside this module: {@linkcode dropGroups} when
 * the parent drops its entries without running them (`release()`, a
 * deadline that never reached the group), {@linkcode commitGroups} when it
 * commits (a group's failure-only members belong to the parent's scope),
 * and {@linkcode stopGroup} when a deadline stops waiting for a group that
 * is running (it names the running members and starts no more).
 *
 * @module
 */

import type { DeferHandle } from "./defer_handle.ts";
import {
  type Callable,
  enterCall,
  leaveCall,
  Slots,
  Took,
  watchedCalls,
  type Watcher,
} from "./slots.ts";
import { suppress } from "./suppressed_error.ts";
import { describe } from "./describe.ts";
import { appendAll } from "./append.ts";
import { checkFields } from "./options.ts";
import { ignore, readThen, rejected } from "./thenable.ts";
import {
  type DisposeAsyncOptions,
  type Limits,
  limitsOf,
  unwindLimited,
} from "./dispose_limit.ts";
import {
  adoptEntry,
  notCallable,
  restOf,
  settleSync,
  useEntry,
} from "./entries.ts";
import { FailureHandle, Handle } from "./handle.ts";
import { groupDisposalStarts } from "./exit.ts";

/**
 * Options for `DeferStack.group()` and {@linkcode DeferGroup.group}.
 *
 * @example
 * ```ts
 * import { defer, type DeferGroupOptions } from "@cleanup/defer";
 * import assert from "node:assert/strict";
 *
 * const options: DeferGroupOptions = { limit: 16 };
 * const d = defer();
 * const sockets = d.group(options);
 * assert.equal(sockets.limit, 16);
 * await d.disposeAsync();
 * ```
 */
export interface DeferGroupOptions {
  /**
   * The most members disposed at once under `disposeAsync()`: a positive
   * integer, or `Infinity` (the default) for all of them. When one
   * settles, the next one (last-in, first-out) starts.
   */
  limit?: number;
}

/**
 * A concurrent disposal group: one entry of the stack (or group) that made
 * it with `d.group()`, in that stack's last-in, first-out order, holding
 * members registered exactly as on a stack (`use`, `adopt`, `defer` with
 * handles, `onFailure` and `commit()`).
 *
 * When the parent's `disposeAsync()` reaches the group, every member is
 * started, newest first, and all are awaited **together**; the parent goes
 * on once every one has settled. With `{ limit }`, at most that many run at
 * once, the next starting as soon as one settles. Under a synchronous
 * `dispose()` the members run one after another, with exactly the rules of
 * `DeferStack.dispose()`.
 *
 * Errors do not depend on which member settled first: every failure is
 * kept and chained in the order a stack with the same members would chain
 * them (the newest member's error innermost), and the parent sees that
 * chain as the one error of one entry, as for a stack registered with
 * `d.use(stack)`.
 *
 * Use a group only for members that do not depend on each other (a pool's
 * connections, independent servers): nothing orders them any more.
 *
 * @example A thousand connections closed at once
 * ```ts
 * import { defer } from "@cleanup/defer";
 * import assert from "node:assert/strict";
 *
 * const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
 * const d = defer();
 * d.defer(() => console.log("pool closed")); // runs after every connection
 * const connections = d.group();
 * for (let i = 0; i < 1000; i++) {
 *   connections.defer(() => sleep(5)); // closing one takes 5 ms
 * }
 * const start = Date.now();
 * await d.disposeAsync(); // not 5 seconds
 * assert.ok(Date.now() - start < 2_000);
 * ```
 */
export interface DeferGroup extends Disposable, AsyncDisposable {
  /**
   * Whether the group takes no more members: it was disposed, it was
   * dropped by its parent's `release()`, or its parent is being disposed
   * or is disposed. Registering then throws a `ReferenceError`.
   */
  readonly disposed: boolean;

  /**
   * The number of members still pending (`use(null)` not counted); 0 once
   * the group's disposal has begun or the group was dropped.
   */
  readonly size: number;

  /** The most members disposed at once; `Infinity` when unlimited. */
  readonly limit: number;

  /**
   * Adds a disposable member and returns it, as `DeferStack.use()` does:
   * its `Symbol.asyncDispose` and `Symbol.dispose` are read once, now.
   *
   * @param value A `Disposable`, an `AsyncDisposable`, `null` or `undefined`.
   * @returns `value`.
   * @throws {ReferenceError} If the group takes no more members (see
   * {@linkcode DeferGroup.disposed}).
   * @throws {TypeError} If `value` is not an object, or has neither method
   * callable.
   *
   * @example
   * ```ts
   * import { defer } from "@cleanup/defer";
   * import assert from "node:assert/strict";
   *
   * const closed: string[] = [];
   * const d = defer();
   * const servers = d.group();
   * for (const name of ["api", "admin"]) {
   *   servers.use({ async [Symbol.asyncDispose]() { closed.push(name); } });
   * }
   * await d.disposeAsync();
   * assert.deepEqual(closed, ["admin", "api"]); // started newest first
   * ```
   */
  use<T extends AsyncDisposable | Disposable | null | undefined>(value: T): T;

  /**
   * Adds a value with the cleanup that disposes it, as
   * `DeferStack.adopt()` does, and returns the value.
   *
   * @param value Any value.
   * @param onDispose The function that disposes `value`.
   * @returns `value`.
   * @throws {ReferenceError} If the group takes no more members.
   * @throws {TypeError} If `onDispose` is not callable.
   *
   * @example
   * ```ts
   * import { defer } from "@cleanup/defer";
   * import assert from "node:assert/strict";
   *
   * const closed: number[] = [];
   * const d = defer();
   * const files = d.group();
   * files.adopt(3, async (fd) => void closed.push(fd));
   * files.adopt(4, async (fd) => void closed.push(fd));
   * await d.disposeAsync();
   * assert.deepEqual(closed.sort(), [3, 4]);
   * ```
   */
  adopt<T>(value: T, onDispose: (value: T) => unknown): T;

  /**
   * Adds `onDispose()` as a member, and returns a handle for it:
   * {@linkcode DeferGroup.defer} without bound
   * arguments, which takes an overloaded function as the built-in's
   * `defer()` does.
   *
   * @param onDispose The cleanup.
   * @returns A {@linkcode DeferHandle} for this entry.
   */
  defer<R>(onDispose: () => R): DeferHandle<R>;
  /**
   * Adds a cleanup, `onDispose(...args)` with the arguments bound now, and
   * returns its {@linkcode DeferHandle}, as `DeferStack.defer()` does.
   * During the group's concurrent disposal a member is pending until it
   * is started: without a limit every member starts at once, so none is
   * pending any more; with a limit, those not yet started can still be
   * released or run early through their handles.
   *
   * @param onDispose The cleanup.
   * @param args Arguments passed to `onDispose` when it runs.
   * @returns A {@linkcode DeferHandle} for this member.
   * @throws {ReferenceError} If the group takes no more members.
   * @throws {TypeError} If `onDispose` is not callable.
   *
   * @example
   * ```ts
   * import { defer } from "@cleanup/defer";
   * import assert from "node:assert/strict";
   *
   * const closed: string[] = [];
   * const d = defer();
   * const g = d.group();
   * const close = async (name: string) => void closed.push(name);
   * g.defer(close, "a");
   * const b = g.defer(close, "b");
   * b.release(); // b is handed over elsewhere
   * await d.disposeAsync();
   * assert.deepEqual(closed, ["a"]);
   * ```
   */
  defer<A extends unknown[], R>(
    onDispose: (...args: A) => R,
    ...args: A
  ): DeferHandle<R>;
  /**
   * {@linkcode DeferGroup.defer} of an overloaded function whose overloads
   * return different types, without bound arguments: its handle's
   * `dispose()` is typed `unknown`.
   *
   * @param onDispose The cleanup.
   * @returns A {@linkcode DeferHandle} for this entry.
   */
  defer(onDispose: () => unknown): DeferHandle<unknown>;

  /**
   * Registers `onFailure()` to run only if the scope fails, and returns a
   * handle for the entry: {@linkcode DeferGroup.onFailure} without bound
   * arguments, which takes an overloaded function as `defer()` does.
   *
   * @param onFailure The cleanup.
   * @returns A {@linkcode DeferHandle} for this entry.
   */
  onFailure<R>(onFailure: () => R): DeferHandle<R>;
  /**
   * Adds a member that runs only if the scope fails, as
   * `DeferStack.onFailure()` does: unless {@linkcode DeferGroup.commit} or
   * the parent's `commit()` was called first.
   *
   * @param onFailure The cleanup to run on failure.
   * @param args Arguments passed to `onFailure` when it runs.
   * @returns A {@linkcode DeferHandle} for this member.
   * @throws {ReferenceError} If the group takes no more members.
   * @throws {TypeError} If `onFailure` is not callable.
   *
   * @example
   * ```ts
   * import { defer } from "@cleanup/defer";
   * import assert from "node:assert/strict";
   *
   * const log: string[] = [];
   * const d = defer();
   * const uploads = d.group();
   * uploads.onFailure(async () => void log.push("delete part 1"));
   * uploads.onFailure(async () => void log.push("delete part 2"));
   * d.commit(); // success: the parent's commit() reaches its groups
   * await d.disposeAsync();
   * assert.deepEqual(log, []);
   * ```
   */
  onFailure<A extends unknown[], R>(
    onFailure: (...args: A) => R,
    ...args: A
  ): DeferHandle<R>;
  /**
   * {@linkcode DeferGroup.onFailure} of an overloaded function whose overloads
   * return different types, without bound arguments: its handle's
   * `dispose()` is typed `unknown`.
   *
   * @param onFailure The cleanup.
   * @returns A {@linkcode DeferHandle} for this entry.
   */
  onFailure(onFailure: () => unknown): DeferHandle<unknown>;

  /**
   * Declares success for the group's members: every pending failure-only
   * member, in nested groups too, is released. The parent's `commit()`
   * does this for every group registered on it.
   *
   * @returns The number of failure-only members released.
   * @throws {ReferenceError} If the group takes no more members.
   *
   * @example
   * ```ts
   * import { defer } from "@cleanup/defer";
   * import assert from "node:assert/strict";
   *
   * const g = defer().group();
   * g.onFailure(() => {});
   * g.defer(() => {});
   * assert.equal(g.commit(), 1);
   * assert.equal(g.size, 1);
   * ```
   */
  commit(): number;

  /**
   * Drops every pending member (none of them will run; their handles say
   * so); the group stays open and remains one entry of its parent.
   *
   * @returns The number of members dropped.
   * @throws {ReferenceError} If the group takes no more members.
   *
   * @example
   * ```ts
   * import { defer } from "@cleanup/defer";
   * import assert from "node:assert/strict";
   *
   * const d = defer();
   * const g = d.group();
   * const h = g.defer(() => {});
   * g.defer(() => {});
   * assert.equal(g.release(), 2);
   * assert.equal(h.pending, false);
   * assert.equal(d.size, 1); // the group itself is still an entry of d
   * ```
   */
  release(): number;

  /**
   * Makes a group inside this group: one member of this group, disposed
   * concurrently with the other members, its own members concurrently
   * among themselves.
   *
   * @param options See {@linkcode DeferGroupOptions}.
   * @returns The new group.
   * @throws {ReferenceError} If the group takes no more members.
   * @throws {TypeError} If `options` is not an object, has a field other than
   * `limit`, or `limit` is not a number.
   * @throws {RangeError} If `limit` is not a positive integer or `Infinity`.
   *
   * @example
   * ```ts
   * import { defer } from "@cleanup/defer";
   * import assert from "node:assert/strict";
   *
   * const log: string[] = [];
   * const d = defer();
   * const regions = d.group();
   * for (const region of ["eu", "us"]) {
   *   const hosts = regions.group({ limit: 2 });
   *   for (let i = 0; i < 3; i++) {
   *     hosts.defer(async () => void log.push(`${region}${i}`));
   *   }
   * }
   * await d.disposeAsync();
   * assert.equal(log.length, 6);
   * ```
   */
  group(options?: DeferGroupOptions): DeferGroup;

  /**
   * Disposes the group now, synchronously, its members one after another
   * (newest first) with the rules of `DeferStack.dispose()`: what the
   * parent's `dispose()` does when it reaches the group. Does nothing if
   * the group's disposal has begun (through this method, `disposeAsync()`
   * or its parent reaching it) or the group was dropped. Disposed before
   * its parent reaches it (even while the parent is being disposed), the
   * group is no longer one of the parent's pending entries, as an entry
   * run early through its handle: the parent's `size` and a deadline's
   * report no longer count it. `this[Symbol.dispose]` is this same
   * function.
   *
   * @throws The single error a member threw, or the `SuppressedError`
   * chain, as `DeferStack.dispose()` throws.
   *
   * @example
   * ```ts
   * import { defer } from "@cleanup/defer";
   * import assert from "node:assert/strict";
   *
   * const log: string[] = [];
   * const d = defer();
   * const g = d.group();
   * g.defer(() => log.push("a"));
   * g.defer(() => log.push("b"));
   * g.dispose();
   * assert.deepEqual(log, ["b", "a"]);
   * assert.equal(g.disposed, true);
   * d.dispose(); // reaches the group: nothing left to run
   * ```
   */
  dispose(): void;

  /**
   * Disposes the group now, concurrently (see {@linkcode DeferGroup}):
   * what the parent's `disposeAsync()` does when it reaches the group.
   * Resolves at once, whatever it is given, if the group's disposal has
   * begun or the group was dropped (as a disposed stack's `disposeAsync()`
   * does). Disposed early, it leaves its parent's pending entries, as with
   * {@linkcode DeferGroup.dispose}. `this[Symbol.asyncDispose]` is this
   * same function.
   *
   * With `{ timeout }` or `{ signal }`, it stops waiting at the deadline
   * or on abort, as a stack's `disposeAsync()` does: no member starts any
   * more, those running go on unobserved, and the promise rejects with a
   * {@linkcode DisposeTimeoutError} naming the members still running and
   * those never started (after the errors of members that already failed).
   * Bad options reject with a TypeError or RangeError; an argument that is
   * not an object is ignored.
   *
   * @param options See {@linkcode DisposeAsyncOptions}; optional.
   * @returns A promise that resolves once every member has settled, or
   * rejects with the single error or `SuppressedError` chain, in the order
   * a stack with the same members would give.
   *
   * @example Errors in a fixed order, whichever settles first
   * ```ts
   * import { defer } from "@cleanup/defer";
   * import assert from "node:assert/strict";
   *
   * const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
   * const g = defer().group();
   * g.defer(async () => {
   *   await sleep(20);
   *   throw new Error("older, settles last");
   * });
   * g.defer(async () => {
   *   throw new Error("newer, settles first");
   * });
   * await assert.rejects(g.disposeAsync(), (e: any) => {
   *   assert.equal(e.error.message, "older, settles last"); // outermost
   *   assert.equal(e.suppressed.message, "newer, settles first");
   *   return true;
   * });
   * ```
   *
   * @example A deadline for the group alone
   * ```ts
   * import { defer, DisposeTimeoutError } from "@cleanup/defer";
   * import assert from "node:assert/strict";
   *
   * const d = defer();
   * const g = d.group({ limit: 1 });
   * g.defer(function notReached() {});
   * g.defer(function hangs() {
   *   return new Promise<void>(() => {});
   * });
   * await assert.rejects(g.disposeAsync({ timeout: 10 }), (e: unknown) => {
   *   assert.ok(e instanceof DisposeTimeoutError);
   *   assert.deepEqual(e.running, ["hangs"]);
   *   assert.deepEqual(e.notStarted, ["notReached"]);
   *   return true;
   * });
   * d.dispose(); // the group is done; the stack's other entries run here
   * ```
   */
  disposeAsync(options?: DisposeAsyncOptions): Promise<void>;

  /** The same function as {@linkcode DeferGroup.disposeAsync}: a `Promise`. */
  [Symbol.asyncDispose](): Promise<void>;
}

/** What a deadline reports about a group it stopped waiting for. */
export interface Stopped {
  /** Members still running, in the order they started, nested groups expanded. */
  running: string[];
  /**
   * Whether the last of `running` is a member still inside its call (a
   * nested group's included): whatever stopped the group came from that
   * member's synchronous part. An exit made there is that member's own.
   */
  calling: boolean;
  /** Members that will never start now, in the order they would have. */
  notStarted: string[];
  /**
   * What the members that settled failed with, chained as the group's
   * disposal would have chained it; `null` if none failed. Read once the
   * deadline's loop has ended, a microtask or more after the stop: a
   * member that aborts in its synchronous part and then throws has failed
   * too. Rejections of members named as still running are not in it.
   */
  failure(): { error: unknown } | null;
  /**
   * The members never started, for an explicit exit to run synchronously:
   * those of nested groups stopped with it first, in start order, then
   * the group's own. Nothing else runs them.
   */
  rest: Slots[];
  /**
   * The groups among those members (nested ones included) with their own
   * members never started: closed, as every group a stop drops, but kept
   * for an explicit exit, which runs them where it takes the group.
   */
  kept: Map<unknown, Slots>;
}

/** The internal state of one concurrent disposal. */
class Run {
  readonly storage: Slots;
  readonly limit: number;
  /** Members started and not settled. */
  active = 0;
  /** How many members were started, in order: a member's start index. */
  started = 0;
  ended = false;
  /** Set by a deadline: start nothing more. */
  stopped = false;
  /** While {@linkcode Run.pump} is starting members. */
  pumping = false;
  /**
   * While a member is being called, or the `then` of its result read: a
   * deadline that comes from inside either (an abort in its synchronous
   * part, or in a `then` getter) must name it, and stop it if it is a
   * group.
   */
  calling = false;
  /**
   * Its members are called for an exit-bound stack's disposal (see
   * `watchedCalls`): a stack a member disposes is watched too.
   */
  watched = false;
  /** The watcher of the disposal it runs in, if known: see `enterCall()`. */
  caller: Watcher | null = null;
  /** For each member awaited: its record's bottom slot, how it was taken. */
  bottoms: number[] = [];
  kinds: number[] = [];
  /** For each member awaited: whether it is still running. */
  open: boolean[] = [];
  /** For each member awaited: its start index. */
  starts: number[] = [];
  /** The start index of each failed member, and what it failed with. */
  failedAt: number[] = [];
  failures: unknown[] = [];
  /**
   * Nested groups that a deadline stopped while they ran, with their
   * start indices: their failures join this run's, read when it is. Only
   * the failures: the members they never started must not stay reachable
   * from this run, which a member still running keeps alive.
   */
  innerAt: number[] = [];
  innerFailures: Array<() => { error: unknown } | null> = [];
  done: () => void = ignore;

  constructor(storage: Slots, limit: number) {
    this.storage = storage;
    this.limit = limit;
  }

  /** Starts members, newest first, while fewer than `limit` run. */
  pump(): void {
    // A member that fails while being started (its `then` threw) settles
    // from inside this loop: that settle must not start members from
    // inside it; the loop below goes on instead.
    if (this.pumping) return;
    this.pumping = true;
    const storage = this.storage;
    while (this.active < this.limit && !this.ended && !this.stopped) {
      let result: unknown;
      let threw = false;
      this.calling = true;
      // Counted before the call: a deadline from inside it names it by
      // this index, `started - 1`.
      const at = this.started++;
      const saved = this.watched ? enterCall(this.caller) : null;
      try {
        result = storage.next(true);
      } catch (e) {
        threw = true;
        result = e;
      }
      if (this.watched) leaveCall(saved);
      const took = storage.took;
      if (took === Took.END) {
        this.started--;
        this.calling = false;
        this.ended = true;
        break;
      }
      // A synchronous throw fails the member at once; a Symbol.dispose
      // fallback's result is ignored; anything without a `then` has
      // finished. Only thenables are awaited.
      let then: unknown;
      if (!threw && took !== Took.FALLBACK) {
        // Read `then` as `await` would: a getter that throws fails the
        // member (thenOf() would take it for no `then` at all).
        try {
          then = readThen(result);
        } catch (e) {
          threw = true;
          result = e;
        }
      }
      this.calling = false;
      if (threw) {
        // For the exit report: the member, not its group.
        if (this.watched) storage.nameFailure(result, took);
        this.fail(at, result);
      } else if (typeof then === "function") {
        this.await(at, result, then as Callable, took);
      }
    }
    this.pumping = false;
    if (this.active === 0 && (this.ended || this.stopped)) this.done();
  }

  await(at: number, result: unknown, then: Callable, took: number): void {
    const k = this.open.length;
    this.bottoms.push(this.storage.position());
    this.kinds.push(took);
    this.open.push(true);
    this.starts.push(at);
    this.active++;
    const ok = (): void => {
      if (this.open[k]) this.settle(k);
    };
    const failed = (e: unknown): void => {
      if (!this.open[k]) return;
      // After a stop, a member named as still running goes on unobserved,
      // as on a stack: its failure is not the stop's (nor counted twice,
      // for a nested group whose own failures the stop took).
      if (!this.stopped) {
        if (this.watched) {
          this.storage.nameFailureAt(e, this.bottoms[k], this.kinds[k]);
        }
        this.fail(at, e);
      }
      this.settle(k);
    };
    // A native promise with its own `then` (the common case) is watched
    // directly; anything else through the `then` read once, as `await`
    // reads it, in a promise that adopts what it settles with. Either way
    // the callbacks come in a later turn.
    if (then === promiseThen) {
      // `then` itself may throw: on what is not a promise, though it has
      // the promise's `then` (a proxy of one), or for a subclass whose
      // species getter throws. Then the member failed, as its `await`
      // would have. No `instanceof`: a proxy's getPrototypeOf trap may
      // throw, and would stop the members not started yet.
      try {
        then.call(result, ok, failed);
      } catch (e) {
        failed(e);
      }
    } else {
      new Promise<void>((resolve, reject) => {
        then.call(result, resolve, reject);
      }).then(ok, failed);
    }
  }

  settle(k: number): void {
    this.open[k] = false;
    this.active--;
    this.pump();
  }

  fail(at: number, error: unknown): void {
    this.failedAt.push(at);
    this.failures.push(error);
  }

  /**
   * The failures chained as a stack chains them, in start order (which is
   * the order a stack would have run them), whatever order they came in.
   */
  chain(): { error: unknown } | null {
    const failedAt = [...this.failedAt];
    const failures = [...this.failures];
    for (let i = 0; i < this.innerFailures.length; i++) {
      const failure = this.innerFailures[i]();
      if (failure !== null) {
        failedAt.push(this.innerAt[i]);
        failures.push(failure.error);
      }
    }
    const n = failures.length;
    if (n === 0) return null;
    const order = Array.from({ length: n }, (_, i) => i);
    order.sort((a, b) => failedAt[a] - failedAt[b]);
    let error = failures[order[0]];
    for (let i = 1; i < n; i++) error = suppress(failures[order[i]], error);
    return { error };
  }

  /**
   * {@linkcode Stopped.failure}: made out here, since a closure made in
   * `stop()` would share its scope, and keep what it returns reachable
   * (the members never started) for as long as a member still runs.
   */
  failureReader(): () => { error: unknown } | null {
    return () => this.chain();
  }

  /** A deadline gave up: start nothing more, say what is left. */
  stop(): Stopped {
    const out: Stopped = {
      running: [],
      calling: false,
      notStarted: [],
      failure: this.failureReader(),
      rest: [],
      kept: new Map(),
    };
    if (this.stopped) {
      out.failure = noFailure;
      return out;
    }
    this.stopped = true;
    const storage = this.storage;
    const running = (bottom: number, kind: number, at: number): boolean => {
      const inner = stopGroup(storage.valueAt(bottom, kind));
      // A nested group is named by its members: none left running means
      // it has finished, its promise just not observed yet.
      if (inner !== null) {
        this.innerAt.push(at);
        this.innerFailures.push(inner.failure);
        appendAll(out.rest, inner.rest);
        for (const [group, rest] of inner.kept) out.kept.set(group, rest);
        appendAll(out.running, inner.running);
        appendAll(out.notStarted, inner.notStarted);
        return inner.calling;
      }
      out.running.push(storage.nameAt(bottom, kind));
      return true;
    };
    for (let k = 0; k < this.open.length; k++) {
      if (this.open[k]) running(this.bottoms[k], this.kinds[k], this.starts[k]);
    }
    // The member being called, newest of all: next() set where it is and
    // how it was taken before calling it.
    if (this.calling) {
      out.calling = running(storage.position(), storage.took, this.started - 1);
    }
    appendAll(out.notStarted, storage.pendingNames());
    out.rest.push(storage.detach());
    dropGroups(storage, out.kept);
    return out;
  }
}

const promiseThen = Promise.prototype.then as Callable;

/** What a group stopped twice, or never running, adds to the chain. */
const noFailure = (): null => null;

/** Groups not yet disposed, by the entries (`Slots`) they are one of. */
let registry: WeakMap<Slots, Set<Group>> | null = null;

/**
 * The implementation of {@linkcode DeferGroup}. Not exported from `mod.ts`:
 * a group is made only by `d.group()`, which registers it.
 */
class Group implements DeferGroup {
  /** The members; `null` once disposal began or the group was dropped. */
  #storage: Slots | null = new Slots();
  /** The parent's entries: they follow the parent through `move()`. */
  #parent: Slots;
  /**
   * The group this one is a member of, or `null` under a stack: a stack
   * being disposed closes every group below it, before it reaches them.
   * Weak: a group kept for long must not keep the entries above it. Once
   * that group is gone, so is its stack, which was then never disposed.
   */
  #up: WeakRef<Group> | null;
  /** The top slot of the group's own record among the parent's entries. */
  #top: number;
  #limit: number;
  /** While a concurrent disposal runs. */
  #run: Run | null = null;
  /**
   * Once a disposal that was not stopped has ended: what its members
   * failed with (`null` for nothing). Until its parent observes the end,
   * a deadline that stops then names nothing here and keeps the failures.
   */
  #ended: { error: unknown } | null | undefined = undefined;
  /**
   * The place in the exit order of the exit-bound stack the group belongs
   * to (directly or through other groups), else -1: its disposal is then
   * watched by the exit machinery (see `groupDisposalStarts()`).
   */
  #exit: number;
  /** An early `disposeAsync()` runs the group as a watched entry: once. */
  #watched = false;

  constructor(parent: Slots, limit: number, exit: number, up: Group | null) {
    this.#parent = parent;
    this.#up = up === null ? null : new WeakRef(up);
    this.#limit = limit;
    this.#exit = exit;
    // Registered as d.use(group) would: both methods, read now.
    this.#top = parent.addGroup(
      this,
      Group.prototype.dispose as Callable,
      Group.prototype.disposeAsync as Callable,
    );
    registry ??= new WeakMap();
    const set = registry.get(parent);
    if (set === undefined) registry.set(parent, new Set([this]));
    else set.add(this);
  }

  get disposed(): boolean {
    return this.#storage === null || this.#closedAbove();
  }

  /** Whether the stack or a group above this one is (being) disposed. */
  #closedAbove(): boolean {
    let parent = this.#parent;
    let up = this.#up;
    for (;;) {
      if (parent.unwinding || parent.retired) return true;
      const group = up?.deref();
      if (group === undefined) return false;
      parent = group.#parent;
      up = group.#up;
    }
  }

  get size(): number {
    const storage = this.#storage;
    return storage === null || storage.retired ? 0 : storage.tally.live;
  }

  get limit(): number {
    return this.#limit;
  }

  /** The members' storage, or the ReferenceError of a closed group. */
  #open(method: string): Slots {
    const storage = this.#storage;
    if (storage === null) {
      throw new ReferenceError(
        `DeferGroup.${method}(): the group is already disposed`,
      );
    }
    if (this.#closedAbove()) {
      throw new ReferenceError(
        `DeferGroup.${method}(): the group's stack is already disposed`,
      );
    }
    return storage;
  }

  use<T extends AsyncDisposable | Disposable | null | undefined>(value: T): T {
    const storage = this.#open("use");
    return useEntry(storage, value, "DeferGroup");
  }

  adopt<T>(value: T, onDispose: (value: T) => unknown): T {
    const storage = this.#open("adopt");
    return adoptEntry(storage, value, onDispose, "DeferGroup");
  }

  defer<R>(onDispose: () => R): DeferHandle<R>;
  defer<A extends unknown[], R>(
    onDispose: (...args: A) => R,
    ...args: A
  ): DeferHandle<R>;
  defer(onDispose: () => unknown): DeferHandle<unknown>;
  defer(onDispose: Callable): DeferHandle {
    const storage = this.#open("defer");
    if (typeof onDispose !== "function") {
      throw notCallable("DeferGroup", "defer", "onDispose", onDispose);
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

  onFailure<R>(onFailure: () => R): DeferHandle<R>;
  onFailure<A extends unknown[], R>(
    onFailure: (...args: A) => R,
    ...args: A
  ): DeferHandle<R>;
  onFailure(onFailure: () => unknown): DeferHandle<unknown>;
  onFailure(onFailure: Callable): DeferHandle {
    const storage = this.#open("onFailure");
    if (typeof onFailure !== "function") {
      throw notCallable("DeferGroup", "onFailure", "onFailure", onFailure);
    }
    const count = arguments.length - 1;
    const top = storage.addFailure(
      onFailure,
      count === 1 ? arguments[1] : count > 1 ? restOf(arguments) : undefined,
      count,
    );
    return new FailureHandle(storage, top);
  }

  commit(): number {
    const storage = this.#open("commit");
    return storage.commit() + commitGroups(storage);
  }

  release(): number {
    const storage = this.#open("release");
    const dropped = storage.tally.live;
    storage.retire();
    dropGroups(storage);
    this.#storage = new Slots();
    return dropped;
  }

  group(options?: DeferGroupOptions): DeferGroup {
    this.#open("group");
    // The options first: a `limit` getter may dispose or release the group.
    const limit = limitOf(options, "DeferGroup.group()");
    return new Group(this.#open("group"), limit, this.#exit, this);
  }

  /**
   * Takes the members for disposal: the group is closed and off the
   * registry. Disposed directly (not by its parent), its entry stays in
   * the parent and does nothing when reached, as a stack registered with
   * `d.use(stack)` and disposed early does.
   */
  #take(): Slots | null {
    const storage = this.#storage;
    if (storage === null) return null;
    this.#storage = null;
    this.#leaveParent();
    return storage;
  }

  /**
   * Disposed or dropped before its parent reached it: its entry there is
   * done, as a handle's is once run early or released (the parent's size
   * and a deadline's report no longer count it).
   */
  #leaveParent(): void {
    const parent = this.#parent;
    registry?.get(parent)?.delete(this);
    if (parent.isPending(this.#top)) parent.remove(this.#top);
  }

  dispose(): void {
    const storage = this.#take();
    if (storage === null) return;
    if (this.#exit < 0) {
      storage.unwindSync(settleSync, "DeferGroup");
      return;
    }
    // Under an exit-bound stack: a member that calls `process.exit()`
    // finds the members below it run for it (see exit.ts).
    groupDisposalStarts(storage, this.#exit, false);
    try {
      storage.unwindSync(settleSync, "DeferGroup");
    } finally {
      if (storage.watcher !== null) storage.watcher.done(storage);
    }
  }

  disposeAsync(options?: DisposeAsyncOptions): Promise<void>;
  // As DeferStack.disposeAsync(): the argument read from `arguments`, so
  // that the method's length is 0 and the plain call stays the plain run.
  disposeAsync(): Promise<void> {
    if (!Group.#isGroup(this)) {
      return rejected(
        new TypeError("DeferGroup.disposeAsync(): this is not a DeferGroup"),
      );
    }
    if (
      arguments.length !== 0 && typeof arguments[0] === "object" &&
      arguments[0] !== null && this.#storage !== null
    ) {
      let limits: Limits | null;
      try {
        limits = limitsOf(arguments[0], "DeferGroup.disposeAsync()");
      } catch (e) {
        return rejected(e);
      }
      if (limits !== null) return this.#disposeLimited(limits);
    }
    return this.#disposeAll();
  }

  /** Whether `value` is a group: its brand. */
  static #isGroup(value: unknown): boolean {
    return typeof value === "object" && value !== null && #storage in value;
  }

  /**
   * `disposeAsync({ signal, timeout })`: the group as the one entry of a
   * storage of its own, run by the stack's deadline loop, which names the
   * members still running when it stops waiting, and those never started.
   * Registered there as its group too, so that a deadline that stops
   * before the group starts (an aborted signal) drops its members.
   */
  #disposeLimited(limits: Limits): Promise<void> {
    // Reading the options may have disposed the group: nothing to wait for.
    if (this.#storage === null) return this.#disposeAll();
    const one = this.#alone();
    registry ??= new WeakMap();
    registry.set(one, new Set([this]));
    return unwindLimited(one, limits, "DeferGroup.disposeAsync()");
  }

  /**
   * A storage whose one entry is this group, for a disposal the program
   * started to run it as a stack's disposal runs a group; watched by the
   * exit machinery there if the group is under an exit-bound stack.
   */
  #alone(): Slots {
    const one = new Slots();
    one.addGroup(
      this,
      Group.prototype.dispose as Callable,
      Group.prototype.disposeAsync as Callable,
    );
    if (this.#exit >= 0) {
      this.#watched = true;
      groupDisposalStarts(one, this.#exit, true);
    }
    return one;
  }

  /** `disposeAsync()` without a deadline: every member, concurrently. */
  #disposeAll(): Promise<void> {
    // Started by the program (its entry still pending in its parent)
    // under an exit-bound stack: run as the one entry of a watched
    // storage, so that an exit waits for it, or names and runs what it
    // has not finished. Run by its parent's loop, the parent is watched.
    if (
      this.#exit >= 0 && !this.#watched && this.#storage !== null &&
      this.#parent.isPending(this.#top)
    ) {
      // Watched: see DeferStack's #unwindAsync().
      return this.#alone().unwindAsyncWatched();
    }
    return this.#disposeMembers();
  }

  /** Every member, concurrently: the group's own loop. */
  async #disposeMembers(): Promise<void> {
    const storage = this.#take();
    if (storage === null) return;
    storage.begin();
    const run = new Run(storage, this.#limit);
    // Members started later, once others settle, are called from a
    // microtask: told here whether they belong to a watched disposal.
    run.watched = this.#exit >= 0 || watchedCalls.depth !== 0;
    run.caller = watchedCalls.caller;
    this.#run = run;
    try {
      await new Promise<void>((resolve) => {
        run.done = resolve;
        run.pump();
      });
    } finally {
      this.#run = null;
      if (!run.stopped) storage.retire();
      this.#ended = run.stopped ? null : run.chain();
    }
    const failed = this.#ended;
    if (failed !== null) throw failed.error;
  }

  /** Whether `value` is a group: a brand check, as in `stop()`. */
  static is(value: unknown): boolean {
    return Group.#isGroup(value);
  }

  /** See {@linkcode stopGroup}. */
  static stop(value: unknown): Stopped | null {
    // A brand check: `instanceof` would run a proxy's getPrototypeOf trap,
    // inside a deadline's timer or abort listener, where a throw is fatal.
    if (!Group.#isGroup(value)) return null;
    const group = value as Group;
    const run = group.#run;
    if (run !== null) return run.stop();
    const ended = group.#ended;
    return ended === undefined ? null : {
      running: [],
      calling: false,
      notStarted: [],
      failure: () => ended,
      rest: [],
      kept: new Map(),
    };
  }

  /** See {@linkcode dropGroups}. */
  static drop(group: Group, kept?: Map<unknown, Slots>): void {
    const storage = group.#storage;
    if (storage === null) return;
    group.#storage = null;
    // Dropped by its own stopped disposeAsync({ signal }), its parent is
    // still open: the group leaves it as if disposed.
    group.#leaveParent();
    if (kept === undefined) storage.retire();
    else {
      // The handles on its members are done, as those of every member a
      // stop drops; the records stay for an explicit exit.
      storage.begin();
      kept.set(group, storage.detach());
    }
    dropGroups(storage, kept);
  }

  /** See {@linkcode commitGroups}. */
  static commit(group: Group): number {
    const storage = group.#storage;
    return storage === null ? 0 : storage.commit() + commitGroups(storage);
  }

  /** The same function as {@linkcode Group.dispose}. */
  declare [Symbol.dispose]: () => void;
  /** The same function as {@linkcode Group.disposeAsync}. */
  declare [Symbol.asyncDispose]: () => Promise<void>;
  declare readonly [Symbol.toStringTag]: string;
}

// Reports name a group by its class: "DeferGroup", as users know it.
Object.defineProperty(Group, "name", { value: "DeferGroup" });
Object.defineProperties(Group.prototype, {
  [Symbol.dispose]: {
    value: Group.prototype.dispose,
    writable: true,
    enumerable: false,
    configurable: true,
  },
  [Symbol.asyncDispose]: {
    value: Group.prototype.disposeAsync,
    writable: true,
    enumerable: false,
    configurable: true,
  },
  [Symbol.toStringTag]: {
    value: "DeferGroup",
    writable: false,
    enumerable: false,
    configurable: true,
  },
});

/**
 * `d.group(options)`, its options already checked by {@linkcode groupLimit}:
 * makes the group and registers it as the newest entry of `parent`.
 */
export function openGroup(
  parent: Slots,
  limit: number,
  exit: number,
): DeferGroup {
  return new Group(parent, limit, exit, null);
}

/** The `limit` of `DeferStack.group(options)`, checked. */
export function groupLimit(options: DeferGroupOptions | undefined): number {
  return limitOf(options, "DeferStack.group()");
}

/**
 * `parent`'s entries were dropped without running (its `release()`, or a
 * deadline that stopped before reaching them): the groups among them are
 * closed and their members dropped too, so their handles stop being
 * pending and nothing can be added that would never run. With `kept`, a
 * stopped group's: each group's members are put there, for an explicit
 * exit to run (see {@linkcode Stopped.kept}).
 */
export function dropGroups(parent: Slots, kept?: Map<unknown, Slots>): void {
  if (registry === null) return;
  const set = registry.get(parent);
  if (set === undefined) return;
  registry.delete(parent);
  for (const group of set) Group.drop(group, kept);
}

/**
 * `parent` was committed: so are the groups among its entries, nested
 * ones included. Returns how many failure-only members that released.
 */
export function commitGroups(parent: Slots): number {
  if (registry === null) return 0;
  const set = registry.get(parent);
  if (set === undefined) return 0;
  let released = 0;
  for (const group of set) released += Group.commit(group);
  return released;
}

/**
 * A deadline stopped waiting for `value`, the entry it was awaiting: if
 * that is a group in concurrent disposal, no member starts any more, and
 * this says which are still running and which will never start. `null`
 * for anything else.
 */
export function stopGroup(value: unknown): Stopped | null {
  return Group.stop(value);
}

/** Whether `value` is a group (`d.group()`), without running its code. */
export function isGroup(value: unknown): boolean {
  return Group.is(value);
}

/**
 * The members of `stopped` left running by an exit: all of
 * `Stopped.running` but a member still inside its call, which is the one
 * that exited (nothing else ends the process from inside a call).
 */
export function runningAtExit(stopped: Stopped): string[] {
  return stopped.calling ? stopped.running.slice(0, -1) : stopped.running;
}

function limitOf(options: unknown, method: string): number {
  if (options === undefined) return Infinity;
  if (options === null || typeof options !== "object") {
    throw new TypeError(
      `${method}: options must be an object, got ${describe(options)}`,
    );
  }
  checkFields(options, ["limit"], method);
  const limit = (options as DeferGroupOptions).limit;
  if (limit === undefined) return Infinity;
  if (typeof limit !== "number") {
    throw new TypeError(
      `${method}: options.limit must be a number, got ${describe(limit)}`,
    );
  }
  if (limit !== Infinity && !(Number.isInteger(limit) && limit >= 1)) {
    throw new RangeError(
      `${method}: options.limit must be a positive integer or Infinity, got ${limit}`,
    );
  }
  return limit;
}
