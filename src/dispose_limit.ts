/**
 * `disposeAsync({ signal, timeout })`: asynchronous disposal that stops
 * waiting at a deadline or on an abort, and says what it left behind.
 *
 * The argument-free `disposeAsync()` never comes here: its loop, its awaits
 * and its microtask timing are exactly the built-in's. This loop runs the
 * same entries in the same order and chains errors the same way, but races
 * each await against the stop, which costs a few more microtask turns.
 *
 * @module
 */

import {
  type Callable,
  enterCall,
  leaveCall,
  notAwaited,
  type Slots,
  Took,
} from "./slots.ts";
import { suppress } from "./suppressed_error.ts";
import { observe, thenOf } from "./thenable.ts";
import { describe } from "./describe.ts";
import { type AbortSignalLike, clearTimer, setTimer } from "./exit_runtime.ts";
import {
  dropGroups,
  isGroup,
  runningAtExit,
  stopGroup,
  type Stopped,
} from "./defer_group.ts";

/**
 * The optional argument of {@linkcode DeferStack.disposeAsync} (and of a
 * group's, {@linkcode DeferGroup.disposeAsync}): when to stop waiting for
 * the cleanups.
 *
 * @example
 * ```ts
 * import { defer, type DisposeAsyncOptions } from "@cleanup/defer";
 *
 * const options: DisposeAsyncOptions = { timeout: 5_000 };
 * const d = defer();
 * d.defer(async () => {});
 * await d.disposeAsync(options); // done well within 5 s
 * ```
 */
export interface DisposeAsyncOptions {
  /**
   * Stop waiting when this signal aborts; the rejection's `cause` is the
   * signal's `reason`.
   */
  signal?: AbortSignalLike;
  /**
   * Stop waiting after this many milliseconds (≥ 0). `Infinity`, or more
   * than 2^31 - 1 (about 24.8 days, the longest timer runtimes keep), means
   * no deadline. The timer is cleared as soon as disposal ends; until then
   * it keeps the event loop alive, so a cleanup that waits for something
   * that can never happen still gets its answer at the deadline instead of
   * the process ending with the promise unsettled. (The exit machinery
   * passes a `signal` instead, and its own timer never keeps the loop
   * alive.)
   */
  timeout?: number;
}

/**
 * What `disposeAsync({ signal, timeout })` rejects with when it stopped
 * waiting: which cleanup was still running (it goes on in the background,
 * its outcome ignored) and which entries never started (they never will:
 * the stack, or the group disposed on its own, is disposed). Nothing is
 * dropped without being named here.
 *
 * If earlier cleanups failed, this error is chained after them as usual:
 * the rejection is then `SuppressedError { error: <this>, suppressed:
 * <the earlier error or chain> }`.
 *
 * @example
 * ```ts
 * import { defer, DisposeTimeoutError } from "@cleanup/defer";
 * import assert from "node:assert/strict";
 *
 * const d = defer();
 * d.defer(function closeSocket() {});
 * d.defer(function flush() {
 *   return new Promise(() => {}); // never settles
 * });
 * const error = await d.disposeAsync({ timeout: 20 }).catch((e) => e);
 * assert.ok(error instanceof DisposeTimeoutError);
 * assert.deepEqual(error.running, ["flush"]);
 * assert.deepEqual(error.notStarted, ["closeSocket"]);
 * assert.equal(error.reason, "timeout");
 * ```
 */
export class DisposeTimeoutError extends Error {
  /**
   * The names of the cleanups still running when disposal stopped waiting:
   * at most one for a stack, whose entries run one at a time, but every
   * member still running when it was awaiting a group (`d.group()`),
   * nested groups included; empty if it stopped between entries. A
   * cleanup whose native promise settled in the same task as the stop is
   * not named (its error, if any, is kept); one whose outcome takes longer
   * to arrive (a thenable, a promise of a subclass, an async function yet
   * to resume) is.
   */
  readonly running: readonly string[];
  /**
   * The names of the entries that never started, in the order they would
   * have run: a group's members not yet started (with a `limit`) first,
   * then the stack's entries not reached (a group not reached counts as
   * one, `"DeferGroup"`). For a group's own `disposeAsync({ timeout })`,
   * its members not yet started (`"DeferGroup"` if it stopped before the
   * group began): its stack's entries are not its to run.
   */
  readonly notStarted: readonly string[];
  /** `"timeout"` when the deadline passed, `"abort"` when the signal aborted. */
  readonly reason: "timeout" | "abort";

  /**
   * Creates the error; `disposeAsync()` makes it, code rarely needs to.
   *
   * @param message The message.
   * @param running See {@linkcode DisposeTimeoutError.running}.
   * @param notStarted See {@linkcode DisposeTimeoutError.notStarted}.
   * @param reason See {@linkcode DisposeTimeoutError.reason}.
   * @param cause The abort signal's reason, if any (or what a signal-like
   * object threw when it was to be watched).
   */
  constructor(
    message: string,
    running: readonly string[],
    notStarted: readonly string[],
    reason: "timeout" | "abort",
    cause?: unknown,
  ) {
    super(message, reason === "abort" ? { cause } : undefined);
    this.running = running;
    this.notStarted = notStarted;
    this.reason = reason;
    made.add(this);
  }
}

/** Every `DisposeTimeoutError` constructed: see `isDisposeTimeoutError`. */
const made = new WeakSet<object>();

/**
 * Whether `value` was made by the `DisposeTimeoutError` constructor. The
 * exit report asks this of values cleanups threw: unlike `instanceof`, it
 * runs none of a proxy's traps, which may throw.
 */
export function isDisposeTimeoutError(
  value: unknown,
): value is DisposeTimeoutError {
  return made.has(value as object);
}
Object.defineProperty(DisposeTimeoutError.prototype, "name", {
  value: "DisposeTimeoutError",
  writable: true,
  enumerable: false,
  configurable: true,
});

/** The validated argument; `null` when it asks for no limit at all. */
export interface Limits {
  signal: AbortSignalLike | undefined;
  /** Milliseconds, or `Infinity`. */
  timeout: number;
}

const MAX_TIMER = 2 ** 31 - 1;

/**
 * Whether `value`'s prototype is an `Object.prototype` (of any realm) or
 * `null`. A proxy whose trap throws is not one.
 */
function plain(value: object): boolean {
  try {
    const proto = Object.getPrototypeOf(value);
    return proto === null || Object.getPrototypeOf(proto) === null;
  } catch {
    return false;
  }
}

/**
 * Validates the options object given to `disposeAsync()` (anything else is
 * ignored there, as by the built-in): a TypeError or RangeError if bad,
 * `null` if it sets no limit. Only a plain object (an object literal, or
 * one without a prototype) is read as options: the built-in ignores its
 * argument, and `promise.then(d.disposeAsync.bind(d))` may pass on any
 * object (Node's `http.Server` has a `timeout` of 0).
 */
export function limitsOf(options: object, method: string): Limits | null {
  if (!plain(options)) return null;
  const { signal, timeout } = options as DisposeAsyncOptions;
  if (
    signal !== undefined &&
    (signal === null || typeof signal !== "object" ||
      typeof (signal as AbortSignalLike).aborted !== "boolean" ||
      typeof (signal as AbortSignalLike).addEventListener !== "function")
  ) {
    throw new TypeError(
      `${method}: options.signal must be an AbortSignal, got ${
        describe(signal)
      }`,
    );
  }
  let ms = Infinity;
  if (timeout !== undefined) {
    if (typeof timeout !== "number") {
      throw new TypeError(
        `${method}: options.timeout must be a number of milliseconds, got ${
          describe(timeout)
        }`,
      );
    }
    if (!(timeout >= 0)) {
      throw new RangeError(
        `${method}: options.timeout must be 0 or more milliseconds (Infinity for none), got ${timeout}`,
      );
    }
    ms = timeout > MAX_TIMER ? Infinity : timeout;
  }
  if (signal === undefined && ms === Infinity) return null;
  return { signal, timeout: ms };
}

/**
 * Told by each disposal {@linkcode finishSyncUnder} finishes, before its
 * rest runs: its storage, the cleanup it was still awaiting (at most one,
 * or a group's members still running) and the group it stopped. A
 * cleanup of that rest may exit again, and the exit machinery then goes
 * on from inside that call (see `holdExit()` in exit_runtime.ts): it must
 * know by then what was named, and what is left to run.
 */
export type RestStarts = (
  storage: Slots,
  running: readonly string[],
  group: Stopped | null,
) => void;

/**
 * What the rest of a disposal cut short by `process.exit()` /
 * `Deno.exit()` did when run synchronously: see {@linkcode finishSyncUnder}.
 */
export interface SyncRest {
  /**
   * The stack's error chain: what its cleanups threw before the exit and
   * while the rest ran, a `TypeError` named in `notAwaited` (slots.ts) for
   * each async one started; `undefined` with `failed` false if none.
   */
  error: unknown;
  failed: boolean;
}

/**
 * The disposals in progress under each abort signal, each as the function
 * that runs its entries not yet started synchronously. Internal.
 */
const inProgress = new Map<
  AbortSignalLike,
  Set<(starts: RestStarts) => SyncRest>
>();

/**
 * `process.exit()` / `Deno.exit()` was called while disposals watching
 * `signal` were in progress (and `signal` has aborted): runs the entries
 * they had not started yet, synchronously, newest first, as `dispose()`
 * would (async ones are started and named as not awaited), and returns
 * what each did. No promise can settle any more: the process is ending.
 * Internal, for the exit machinery.
 */
export function finishSyncUnder(
  signal: AbortSignalLike,
  starts: RestStarts,
): SyncRest[] {
  const finishers = inProgress.get(signal);
  if (finishers === undefined) return [];
  inProgress.delete(signal);
  return [...finishers].reverse().map((finish) => finish(starts));
}

/**
 * Runs the records of `slots` not taken yet, synchronously, newest first,
 * as `dispose()` would, and retires it: at an explicit exit (or a stall),
 * where no promise can settle any more. Each failure goes to `fail`, an
 * async cleanup started as a `TypeError` named in `notAwaited`. A group
 * found in `kept` (one a deadline closed before it started) has its
 * members run in its place. Internal, for the loop below and the exit
 * machinery.
 */
export function drainSync(
  slots: Slots,
  fail: (error: unknown) => void,
  kept?: ReadonlyMap<unknown, Slots>,
): void {
  const drain: Drain = { slots, fail, kept };
  draining.push(drain);
  try {
    drainLoop(slots, fail, kept);
  } finally {
    const i = draining.lastIndexOf(drain);
    if (i >= 0) draining.splice(i, 1);
  }
}

/** A drain under way: see {@linkcode finishDrains}. */
interface Drain {
  slots: Slots;
  fail: (error: unknown) => void;
  kept: ReadonlyMap<unknown, Slots> | undefined;
}

/** The drains under way, innermost last. */
const draining: Drain[] = [];

/**
 * Goes on with every drain under way, innermost first: called when an
 * entry a drain ran exits again, from inside that call, which never
 * returns (see `holdExit()` in exit_runtime.ts). A group's members run in
 * its place, say, are found only by the drain that took the group.
 * Internal, for the exit machinery.
 */
export function finishDrains(): void {
  for (let i = draining.length - 1; i >= 0; i--) {
    const drain = draining[i];
    if (drain !== undefined) drainSync(drain.slots, drain.fail, drain.kept);
  }
}

function drainLoop(
  slots: Slots,
  fail: (error: unknown) => void,
  kept: ReadonlyMap<unknown, Slots> | undefined,
): void {
  for (;;) {
    const at = slots.position();
    try {
      const saved = enterCall(slots.watcher);
      let result: unknown;
      try {
        result = slots.next(false);
      } finally {
        leaveCall(saved);
      }
      const took = slots.took;
      if (took === Took.END) break;
      const then = result === undefined ? undefined : thenOf(result);
      if (took === Took.ASYNC_ONLY || then !== undefined) {
        observe(result, then);
        fail(notAwaitedAtExit(slots, result));
      }
      // A group the stop closed before it started (its dispose() just
      // called did nothing): its members run here, in its place.
      if (took === Took.METHOD && kept !== undefined) {
        const members = kept.get(slots.takenValue());
        if (members !== undefined) drainSync(members, fail, kept);
      }
    } catch (e) {
      // Nothing taken: the call stack is full here (each exit made again
      // by an entry goes on from inside its call). Passed on, the error
      // ends that entry's call, and a drain further up goes on.
      if (slots.position() === at) throw e;
      slots.nameFailure(e, slots.took);
      fail(e);
    }
  }
  slots.hollowOut();
  slots.retire();
  if (slots.watcher !== null) slots.watcher.done(slots);
}

/** The TypeError naming an entry started but not awaited at an exit. */
function notAwaitedAtExit(storage: Slots, started: unknown): TypeError {
  const name = storage.takenName();
  const error = new TypeError(
    `DeferStack.disposeAsync(): the process is exiting, so the async cleanup ${
      JSON.stringify(name)
    } was started but not awaited`,
    { cause: started },
  );
  notAwaited.set(error, name);
  return error;
}

const STOP: unique symbol = Symbol("stop");

interface Failed {
  error: unknown;
}

function settled(): undefined {
  return undefined;
}

function failed(error: unknown): Failed {
  return { error };
}

/** Whether the entry the loop took last is still running. */
interface Awaiting {
  running: boolean;
}

/**
 * The reactions that take the outcome of the entry awaited: from then on
 * it is no longer running, even before the loop has seen that (a stop in
 * between keeps its error instead of naming it). Made here, apart from
 * the loop, whose scope holds its storage: a member still running after
 * a stop holds these, and must not keep the entries never started.
 */
function outcomeOf(
  awaiting: Awaiting,
): [() => undefined, (error: unknown) => Failed] {
  return [
    () => {
      awaiting.running = false;
      return undefined;
    },
    (error) => {
      awaiting.running = false;
      return failed(error);
    },
  ];
}

/** The outcome of an entry that finished when its call returned. */
const finished: Promise<undefined> = Promise.resolve(undefined);

/**
 * The `Promise` this module loaded with, and its `then`: a global replaced
 * since (zone.js does) would make promises this `then` cannot take.
 */
const LoadedPromise: PromiseConstructor = Promise;
const promiseThen = LoadedPromise.prototype.then as Callable;

/**
 * `STOP`, a turn after a reaction queued now: a promise rejected before
 * this is called settles a race with it first.
 */
function aTurnLater(): Promise<typeof STOP> {
  return Promise.resolve().then(() => STOP);
}

/**
 * ` (message)` for an abort reason that is an Error, else nothing: never
 * throws, whatever the reason is (a revoked proxy, a throwing getter),
 * since it is read inside the abort listener.
 */
function causeText(cause: unknown): string {
  try {
    if (!(cause instanceof Error)) return "";
    const message = cause.message;
    return typeof message === "string" ? ` (${message})` : "";
  } catch {
    return "";
  }
}

function list(names: readonly string[]): string {
  return names.map((n) => JSON.stringify(n)).join(", ");
}

/**
 * Runs the entries of `storage` (already taken from its stack) under
 * `limits`. Same order, same calls, same error chain as the plain loop.
 */
export async function unwindLimited(
  storage: Slots,
  limits: Limits,
  method: string,
): Promise<void> {
  const { signal, timeout } = limits;
  storage.begin();
  // Whether the entry storage.next() took last is being awaited, or is
  // being called (an abort can come from inside its synchronous part).
  const awaiting: Awaiting = { running: false };
  let calling = false;
  let stopError: DisposeTimeoutError | null = null;
  let wake: (value: typeof STOP) => void = settled;
  const stop = new Promise<typeof STOP>((resolve) => (wake = resolve));

  const giveUp = (reason: "timeout" | "abort", thrown?: Failed): void => {
    if (stopError !== null) return;
    // Awaiting a group: its members still running are named, and those it
    // will now never start come first among the entries never started.
    const busy = awaiting.running || calling;
    const group = busy ? stopGroup(storage.takenValue()) : null;
    const runningNames = group !== null
      ? group.running
      : busy
      ? [storage.takenName()]
      : [];
    // What the group's members failed with comes before the stop, as an
    // earlier entry's error would on a stack: read once this loop ends
    // (see `takeGroupFailure`).
    stoppedGroup = group;
    failureOwed = group !== null;
    // concat, not unshift(...names): a large group's list would overflow
    // the call stack as arguments.
    const notStarted = group !== null
      ? group.notStarted.concat(storage.pendingNames())
      : storage.pendingNames();
    let cause: unknown;
    if (thrown !== undefined) cause = thrown.error;
    else if (reason === "abort") {
      try {
        cause = signal?.reason;
      } catch (e) {
        cause = e; // a signal-like object whose reason getter throws
      }
    }
    const why = reason === "timeout"
      ? `stopped waiting after ${timeout} ms`
      : `was aborted${causeText(cause)}`;
    stopError = new DisposeTimeoutError(
      `${method} ${why}: ${
        runningNames.length > 0
          ? `${list(runningNames)} ${
            runningNames.length > 1 ? "were" : "was"
          } still running`
          : "no cleanup was running"
      }; ${notStarted.length} never started${
        notStarted.length > 0 ? `: ${list(notStarted)}` : ""
      }`,
      runningNames,
      notStarted,
      reason,
      cause,
    );
    wake(STOP);
  };
  // An abort or the deadline while an entry's promise is awaited gives up
  // a turn later: an outcome that came in the same task as the stop (the
  // promise settled, then the abort) is then taken first, and the cleanup
  // is not named as running. One from inside an entry's call, or while a
  // group is awaited (whose members say themselves what still runs),
  // gives up at once.
  let stopping: "timeout" | "abort" | null = null;
  const decide = (): void => {
    if (stopping !== null && !done) giveUp(stopping);
  };
  const stopSoon = (reason: "timeout" | "abort"): void => {
    if (stopping !== null || stopError !== null) return;
    if (calling || !awaiting.running || isGroup(storage.takenValue())) {
      return giveUp(reason);
    }
    stopping = reason;
    void LoadedPromise.resolve().then(decide);
  };
  const onAbort = (): void => stopSoon("abort");
  let timer: unknown;
  const [settledHere, failedHere] = outcomeOf(awaiting);

  let error: unknown;
  let hasError = false;
  const fail = (failure: unknown): void => {
    if (hasError) {
      error = suppress(failure, error);
    } else {
      error = failure;
      hasError = true;
    }
    if (storage.watcher !== null) storage.watch(error);
  };
  // A group this deadline stopped while awaiting or calling it. An abort
  // from inside a member's synchronous part stops it mid-call: the member
  // may still throw before its call returns, so the group's failures are
  // taken once this loop has ended (at least a microtask later), as a
  // stack's loop takes such a throw.
  // Should the process now exit, its members never started still run,
  // and those still running name it.
  let stoppedGroup: Stopped | null = null;
  let failureOwed = false;
  const takeGroupFailure = (): void => {
    if (!failureOwed) return;
    failureOwed = false;
    const failure = (stoppedGroup as Stopped).failure();
    if (failure !== null) fail(failure.error);
  };

  // At an explicit exit (or a stall): the entries not started yet run
  // synchronously, where this loop stopped. What they did is returned
  // there; should this loop resume, it resolves quietly.
  let done = false;
  let drained = false;
  const drain = (slots: Slots): void =>
    drainSync(slots, fail, stoppedGroup?.kept);
  const finishSync = (starts: RestStarts): SyncRest => {
    // The process is ending now: no turn comes for the stop to wait.
    decide();
    takeGroupFailure();
    // An entry still inside its call is the one that exited: `running`
    // is false then. So is a group's member (see `runningAtExit()`).
    const group = stoppedGroup;
    starts(
      storage,
      group !== null
        ? runningAtExit(group)
        : awaiting.running
        ? [storage.takenName()]
        : [],
      group,
    );
    if (!done && !drained) {
      drained = true;
      // A group stopped by this exit: the members it never started come
      // first, as they would have run before the entries below it.
      for (const rest of stoppedGroup?.rest ?? []) drain(rest);
      drain(storage);
    }
    return { error, failed: hasError };
  };
  let finishers: Set<(starts: RestStarts) => SyncRest> | undefined;

  try {
    if (signal !== undefined) {
      try {
        if (signal.aborted) giveUp("abort");
        else {
          signal.addEventListener("abort", onAbort);
          finishers = inProgress.get(signal);
          if (finishers === undefined) {
            inProgress.set(signal, finishers = new Set());
          }
          finishers.add(finishSync);
        }
      } catch (e) {
        // A signal-like object that cannot be watched: stop at once, as
        // an abort would, so that every entry is named as never started
        // instead of dropped with a bare error.
        giveUp("abort", failed(e));
      }
    }
    if (stopError === null && timeout !== Infinity) {
      timer = setTimer(() => stopSoon("timeout"), timeout);
    }
    let hasAwaited = false;
    while (stopError === null) {
      let result: unknown;
      let threw = false;
      calling = true;
      // A watched loop (see `watchedCalls`): a stack the entry disposes is
      // watched too. Not undone by an exit from inside the call, which
      // never returns: the exit's runs are watched anyway.
      const watched = storage.watcher !== null;
      const saved = watched ? enterCall(storage.watcher) : null;
      try {
        result = storage.next(true);
      } catch (e) {
        if (storage.watcher !== null) storage.nameFailure(e, storage.took);
        fail(e);
        threw = true;
      }
      if (watched) leaveCall(saved);
      calling = false;
      if (storage.watcher !== null) storage.watcher.awaitingAt = storage.cursor;
      const took = storage.took;
      if (took === Took.END) break;
      // As in the plain loop: a sync throw is not awaited, except from a
      // Symbol.dispose fallback, whose result is ignored.
      if (threw && took !== Took.FALLBACK) continue;
      hasAwaited = true;
      // Only a thenable can still be running once the call returned: a
      // synchronous cleanup that returned is done, even while its result
      // is awaited.
      awaiting.running = took !== Took.FALLBACK && result !== null &&
        (typeof result === "object" || typeof result === "function");
      let awaited: Promise<Failed | undefined> = finished;
      if (took !== Took.FALLBACK) {
        // Taken as `await` takes it: a native promise as it is (its own
        // `then`, if any, is never called), anything else by its `then`,
        // read now and called a turn later. Both handlers are attached
        // now: a rejection after we stopped waiting is observed, never
        // unhandled.
        try {
          awaited = promiseThen.call(
            LoadedPromise.resolve(result),
            settledHere,
            failedHere,
          ) as Promise<Failed | undefined>;
        } catch (e) {
          // A promise whose `constructor` getter throws: `await` throws.
          awaited = Promise.resolve(failed(e));
        }
      }
      // Stopped from inside the call or the read of `then` (an abort
      // there): a result already rejected by then (an async cleanup that
      // threw after the abort, a `then` getter that threw) is observed only
      // a turn later, so the stop waits that turn, and the error is kept.
      const stopped = stopError === null && stopping === null
        ? stop
        : aTurnLater();
      const outcome = await Promise.race([awaited, stopped]);
      awaiting.running = false;
      if (outcome !== undefined && outcome !== STOP) {
        if (storage.watcher !== null) {
          storage.nameFailure(outcome.error, storage.took);
        }
        fail(outcome.error);
        // A group that ended before the stop rejected with what the stop
        // took from it: its failures are in the chain once.
        failureOwed = false;
      }
    }
    if (storage.sawNull && !hasAwaited && stopError === null) await undefined;
  } finally {
    if (timer !== undefined) clearTimer(timer);
    if (signal !== undefined) {
      try {
        signal.removeEventListener("abort", onAbort);
      } catch {
        // A signal-like object that throws here: nothing more to undo, and
        // the rest of this cleanup must still happen.
      }
    }
    if (finishers !== undefined) {
      finishers.delete(finishSync);
      if (finishers.size === 0 && inProgress.get(signal!) === finishers) {
        inProgress.delete(signal!);
      }
    }
    done = true;
    storage.retire();
    // Groups it never reached: their members never run either.
    dropGroups(storage);
  }
  if (drained) return;
  takeGroupFailure();
  if (stopError !== null) fail(stopError);
  // With the whole chain: what this rejects with is reported at an exit.
  if (storage.watcher !== null) storage.watcher.done(storage);
  if (hasError) throw error;
}
