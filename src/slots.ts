/**
 * Internal storage of a stack's entries. Not exported from `mod.ts`.
 *
 * Every entry is a record of one to four consecutive slots in one array,
 * and the **top** slot of a record says what it is, so the array can be
 * walked from the end without any per-entry object:
 *
 * | record (bottom … top)                   | entry                          |
 * | --------------------------------------- | ------------------------------ |
 * | `fn`                                    | `defer(fn)`: `fn()`            |
 * | `fn, arg, DEFER1`                       | `defer(fn, arg)`: `fn(arg)`    |
 * | `fn, args, DEFERN`                      | `defer(fn, ...args)`           |
 * | `fn, value, ADOPT`                      | `adopt(value, fn)`: `fn(value)`|
 * | `method, object`                         | `use(object)`, `Symbol.dispose` only |
 * | `method, value, USE`                    | the same for a function value  |
 * | `asyncMethod, value, USE_ASYNC`         | `use()`, `Symbol.asyncDispose` only |
 * | `asyncMethod, value, syncMethod, USE_BOTH` | `use()`, both methods       |
 * | `NULL`                                  | `use(null)` / `use(undefined)` |
 * | `fn, undefined, FAIL0`                  | `onFailure(fn)`: `fn()`        |
 * | `fn, arg, FAIL1` / `fn, args, FAILN`    | `onFailure(fn, ...args)`       |
 * | `HOLE1` or `…, HOLE3`                   | a released entry               |
 *
 * A top slot is a function (the one-slot `defer(fn)`, the most common
 * entry), a non-function object (the two-slot `use()`), or one of the small
 * integers below; other user values only ever sit below the top of their
 * record. Slots per entry are what unwinding a large stack costs: memory
 * traffic, not calls, dominates at 10^6 entries.
 *
 * Handles locate their entry by the index of its top slot, and so does a
 * group its own record, to take it out when disposed early. A released
 * entry below the top becomes a hole, and the array only shrinks from the
 * top, when the top entry is released (then holes just below it go too).
 * So churn at the top (last in, first released) leaves nothing behind; a
 * hole stays while a live entry sits above it. Its cleanup and arguments
 * are freed at once, its slots only when holes are most of the array:
 * then {@linkcode Slots.compact} moves the live records down, to indices
 * above every one given out so far, and keeps where each record a handle
 * or group may hold went (a long-lived stack whose entries are released
 * out of order, as a server's per-connection ones are, would otherwise
 * keep a slot or three for every entry it ever had). An index can be
 * reused after a shrink at the top, but only by a new entry after the old
 * one was released through its own handle, which then knows it is done;
 * the indices a compaction moved records to are not reused until the
 * next one (see `Chunks.fence`).
 * `release()` of the whole stack and the end of disposal retire the `Slots`
 * object itself, which retires every handle on it at once; `release()` gives
 * the stack a fresh one. `commit()` turns every pending failure-only record
 * into a hole, found through `failureTops`, and bumps `generation`: a
 * failure-only handle carries the generation it was registered in, and is
 * done once that is not the current one (its slot may be reused by then).
 *
 * On Bun the array is cut into chunks: once `items` holds `CHUNK` slots,
 * the next record starts a new array, and the full one goes below it
 * (`chunks`).
 * A record never spans two chunks, and indices count across them, from
 * the bottom of the lowest. A chunk emptied by releases at the top gives
 * way to the one below, so churn at a chunk's edge leaves nothing behind
 * either. A stack below `CHUNK` slots has no chunk below and pays one
 * length check per entry.
 *
 * A leak-checked stack keeps its pending counts in a tally of their own,
 * so the leak check can watch them without reaching the entries (which may
 * reach the stack, and would then keep it alive).
 *
 * This module is the only one that knows the layout: `DeferStack` registers
 * through the `add*` methods; the dispose loops of a stack are here
 * ({@linkcode Slots.unwindSync}, {@linkcode Slots.unwindAsync}), and the
 * others (with a deadline, a group's) take records one at a time through
 * {@linkcode Slots.next}. The two stack loops each decode records in
 * place, by their own rules (which method of a value runs, what is
 * awaited), rather than through one function per record: that call cost
 * Bun 10–20% of a small stack's disposal. A change of layout touches
 * them, `next()` and the table above, all in this file.
 *
 * @module
 */

import {
  suppress,
  type SuppressedErrorLike,
  suppressUntraced,
  traceFrom,
} from "./suppressed_error.ts";

const DEFER1 = 1; // fn, arg, DEFER1: fn(arg)
const DEFERN = 2; // fn, args, DEFERN: fn(...args)
const ADOPT = 3; // fn, value, ADOPT: fn(value)
const USE = 4; // method, value, USE: method.call(value), a function value
const USE_ASYNC = 5; // asyncMethod, value, USE_ASYNC
const USE_BOTH = 6; // asyncMethod, value, syncMethod, USE_BOTH
const NULL = 7; // use(null): nothing to call, one await owed in disposeAsync()
const HOLE1 = 8; // a released one-slot entry
const HOLE3 = 9; // a released three-slot entry
const FAIL0 = 10; // fn, undefined, FAIL0: onFailure(fn)
const FAIL1 = 11; // fn, arg, FAIL1
const FAILN = 12; // fn, args, FAILN

function isFailure(marker: unknown): boolean {
  return marker === FAIL0 || marker === FAIL1 || marker === FAILN;
}

/** A callable as stored: called with whatever arguments the record holds. */
export type Callable = (...args: unknown[]) => unknown;

/**
 * What {@linkcode Slots.unwindSync} hands a result it must not ignore:
 * throws to put an error in the chain in the entry's place.
 */
export type Settle = (
  slots: Slots,
  result: unknown,
  took: number,
  owner: string,
) => void;

/** `fn(arg)`, `fn(...arg)` or `fn()` as `marker` says, `this` undefined. */
function invoke(fn: Callable, arg: unknown, marker: unknown): unknown {
  if (marker === DEFER1 || marker === ADOPT || marker === FAIL1) {
    return fn(arg);
  }
  if (marker === DEFERN || marker === FAILN) return fn(...(arg as unknown[]));
  if (marker === FAIL0) return fn();
  throw new TypeError(`DeferStack: corrupt record ${String(marker)}`);
}

/**
 * What {@linkcode Slots.next} took, in {@linkcode Slots.took}: how the loop
 * treats the result, and where the entry's name is.
 */
export const Took = {
  /** A cleanup function was called (`defer`, `adopt`, `onFailure`). */
  FUNCTION: 0,
  /** A `use()`d value's method was called; its result counts. */
  METHOD: 1,
  /**
   * `disposeAsync()` called a value's `Symbol.dispose` as the fallback:
   * the result is ignored, and one await follows even if it threw.
   */
  FALLBACK: 2,
  /**
   * `dispose()` started the disposal of a value with only
   * `Symbol.asyncDispose`: it cannot be awaited there.
   */
  ASYNC_ONLY: 3,
  /** Nothing was left to take. */
  END: 4,
} as const;

/**
 * Watches one dispose loop over a stack's records for the exit machinery:
 * the loops keep `error` and `failed` up to date (on the failure path
 * only) and call `done()` once they end.
 */
export interface Watcher {
  /** The error, or `SuppressedError` chain, the loop has made so far. */
  error: unknown;
  /** Whether `error` holds one. */
  failed: boolean;
  /**
   * The `cursor` of the entry whose result the async loop has begun to
   * await: unlike `cursor` while that entry's call has not returned yet
   * (see {@linkcode Slots.calling}). Kept here, not on every storage: only
   * a watched loop is asked.
   */
  awaitingAt: number;
  /** The loop is over (or the rest of it was run for it). */
  done(slots: Slots): void;
}

/** A stack's pending counts: what `size` and the leak check read. */
export interface Tally {
  /** Pending entries, `use(null)` placeholders not counted. */
  live: number;
  /** Pending failure-only entries (included in `live`). */
  failures: number;
}

/**
 * The counts of a leak-checked stack, kept apart from its entries: the
 * leak check holds them, and must hold nothing that reaches the stack.
 */
export class SeparateTally implements Tally {
  live = 0;
  failures = 0;
}

/**
 * The errors `dispose()` throws for entries it started but cannot await,
 * with each entry's name: what the exit machinery reports as "not awaited"
 * when `process.exit()` leaves only synchronous cleanups a chance.
 */
export const notAwaited: WeakMap<object, string> = new WeakMap();

/**
 * The name of the entry each error object came from (thrown or rejected
 * with), for the exit report: recorded by watched loops only, on the
 * failure path, the innermost stack's name first.
 */
export const failedIn: WeakMap<object, FailedEntry> = new WeakMap();

/**
 * What an error came from: the entry's function or value, named only
 * when a report asks (see {@linkcode failedName}), since reading a name
 * runs the value's code (a getter, a proxy's trap), which the built-in's
 * failure path never does.
 */
interface FailedEntry {
  target: unknown;
  took: number;
}

/**
 * The name of the entry `error` came from, if a watched loop recorded
 * one (see {@linkcode failedIn}); never throws.
 */
export function failedName(error: object): string | undefined {
  const entry = failedIn.get(error);
  if (entry === undefined) return undefined;
  try {
    return entry.took === Took.FUNCTION
      ? functionName(entry.target)
      : valueName(entry.target);
  } catch {
    return undefined; // a name that cannot be read: the report goes without
  }
}

/**
 * `depth`: how many calls of entries made by watched loops (an exit-bound
 * stack's disposal, the exit's own runs) are under way on the call stack.
 * A stack disposed from inside one (`app.use(db)`: `db` is disposed by
 * `app`'s loop) is part of that disposal: an exit must not skip its
 * entries either. `caller` is the watcher of the loop making the call
 * under way (see {@linkcode enterCall}). Set by the exit machinery, which
 * this module cannot import: `watch(slots, async)` makes such a disposal
 * watched and says whether it did (`nestedDisposalStarts()`), and
 * `runEarlyAsync`, while it is installed, runs a handle's entry early as
 * a watched one (`runEarlyAsync()` in exit.ts).
 */
export const watchedCalls: {
  depth: number;
  /** The watcher of the loop whose entry is being called, if known. */
  caller: Watcher | null;
  watch: (slots: Slots, async: boolean) => boolean;
  runEarlyAsync: ((slots: Slots, top: number) => Promise<void>) | null;
} = { depth: 0, caller: null, watch: () => false, runEarlyAsync: null };

/**
 * A watched loop, whose watcher is `watcher` (`null`: the caller's),
 * calls an entry: see {@linkcode watchedCalls}. Returns what
 * {@linkcode leaveCall} restores after the call.
 */
export function enterCall(watcher: Watcher | null): Watcher | null {
  watchedCalls.depth++;
  const saved = watchedCalls.caller;
  if (watcher !== null) watchedCalls.caller = watcher;
  return saved;
}

/** The call {@linkcode enterCall} announced has returned (or thrown). */
export function leaveCall(saved: Watcher | null): void {
  watchedCalls.depth--;
  watchedCalls.caller = saved;
}

/** The entries of one stack; handed over whole by `move()`. */
export class Slots implements Tally {
  /**
   * The records, bottom of the stack first: the shared, always empty
   * `NO_ITEMS` until the first entry, which brings an array literal of
   * its own (see `NO_ITEMS`), and the shared `RETIRED` once retired.
   */
  items: unknown[] = NO_ITEMS;
  /**
   * The full chunks below `items`; `null` until `items` first fills up
   * (see `CHUNK`), so a small stack has one field for them. Slot indices
   * (a handle's, `cursor`) count from the bottom of the lowest chunk.
   */
  chunks: Chunks | null = null;
  live = 0;
  failures = 0;
  /**
   * Where the counts are kept: here, or for a leak-checked stack in a
   * {@linkcode SeparateTally} (see {@linkcode Slots.separateTally}). Saves
   * a small stack an allocation.
   */
  tally: Tally = this;
  /**
   * The top slots of the failure-only records not yet committed, ascending
   * (released ones are holes by now); `null` until the first one. Indices
   * popped off the array are dropped from here at once, so each one names
   * a failure-only record or its hole, never another record's slot.
   */
  failureTops: number[] | null = null;
  /** Bumped by `commit()`: failure-only handles of older ones are done. */
  generation = 0;
  /**
   * True while a dispose loop walks `items`, and after it (then `retired`
   * is too): slots must not move.
   */
  unwinding = false;
  /**
   * While unwinding: the bottom slot of the record taken last, in the
   * chunk being unwound (see `position()`); records at or above it have
   * run or are running.
   */
  cursor = 0;
  /**
   * While unwinding: what {@linkcode Slots.next} took last (see `Took`);
   * `unwindSync()` sets it only for a result it hands to `settle`.
   */
  took: number = Took.END;
  /**
   * While unwinding through {@linkcode Slots.next}: whether a `use(null)`
   * was passed on the way down.
   */
  sawNull = false;
  /**
   * Set while an exit-bound stack's own disposal of these records is
   * under way (see exit.ts): the exit machinery, should the process end
   * meanwhile, waits for it or runs the rest itself, and reports what its
   * loop had chained so far. `null` for every other storage.
   */
  watcher: Watcher | null = null;

  /** Moves the counts out, for the leak check; returns where they are. */
  separateTally(): Tally {
    const tally = new SeparateTally();
    tally.live = this.tally.live;
    tally.failures = this.tally.failures;
    this.tally = tally;
    return tally;
  }

  /** `defer(fn)`: the common entry, one slot. Returns its top slot. */
  addDefer(fn: Callable): number {
    // Counted after the write, which may throw (at the call-stack limit).
    let top = 0;
    let items = this.items;
    if (items.length >= CHUNK) items = this.spill();
    if (items !== NO_ITEMS) top = this.base() + items.push(fn) - 1;
    else this.items = [fn];
    this.tally.live++;
    return top;
  }

  /** `defer(fn, arg)`, or `defer(fn, ...args)` with `spread`. */
  addDeferWith(fn: Callable, arg: unknown, spread: boolean): number {
    let top = 2;
    let items = this.items;
    if (items.length >= CHUNK) items = this.spill();
    const marker = spread ? DEFERN : DEFER1;
    if (items !== NO_ITEMS) top = this.base() + items.push(fn, arg, marker) - 1;
    else this.items = [fn, arg, marker];
    this.tally.live++;
    return top;
  }

  /** `adopt(value, fn)`. */
  addAdopt(value: unknown, fn: Callable): void {
    let items = this.items;
    if (items.length >= CHUNK) items = this.spill();
    if (items !== NO_ITEMS) items.push(fn, value, ADOPT);
    else this.items = [fn, value, ADOPT];
    this.tally.live++;
  }

  /**
   * `use(value)` with the methods read from it (at least one defined). An
   * object on top marks the two-slot record: the common `Symbol.dispose`
   * object needs no marker.
   */
  addUse(
    value: object,
    syncMethod: Callable | undefined,
    asyncMethod: Callable | undefined,
  ): void {
    let items = this.items;
    if (items.length >= CHUNK) items = this.spill();
    if (items === NO_ITEMS) {
      this.items = firstUse(value, syncMethod, asyncMethod);
    } else if (asyncMethod === undefined) {
      if (typeof value === "object") items.push(syncMethod, value);
      else items.push(syncMethod, value, USE);
    } else if (syncMethod === undefined) {
      items.push(asyncMethod, value, USE_ASYNC);
    } else {
      items.push(asyncMethod, value, syncMethod, USE_BOTH);
    }
    this.tally.live++;
  }

  /**
   * A group (`d.group()`), as `use()` would record it with both methods;
   * returns its top slot, by which the group takes its record out when it
   * is disposed on its own (see `remove()`).
   */
  addGroup(group: object, syncMethod: Callable, asyncMethod: Callable): number {
    let items = this.items;
    if (items.length >= CHUNK) items = this.spill();
    let top = 3;
    if (items === NO_ITEMS) {
      this.items = [asyncMethod, group, syncMethod, USE_BOTH];
    } else {
      top = this.base() +
        items.push(asyncMethod, group, syncMethod, USE_BOTH) - 1;
    }
    this.tally.live++;
    return top;
  }

  /** `use(null)` / `use(undefined)`: not an entry, but owed an await. */
  addNull(): void {
    if (this.items.length >= CHUNK) this.spill();
    if (this.items !== NO_ITEMS) this.items.push(NULL);
    else {
      // Not the literal [NULL]: its elements would be of the kind for
      // small integers only, and change at the next entry.
      const items: unknown[] = [undefined];
      items[0] = NULL;
      this.items = items;
    }
  }

  /**
   * `onFailure(fn, ...)` with `count` bound arguments: `arg` is the one
   * argument, or the array of them when there are several.
   */
  addFailure(fn: Callable, arg: unknown, count: number): number {
    const marker = count === 0 ? FAIL0 : count === 1 ? FAIL1 : FAILN;
    let top = 2;
    if (this.items.length >= CHUNK) this.spill();
    if (this.items === NO_ITEMS) this.items = [fn, arg, marker];
    else top = this.base() + this.items.push(fn, arg, marker) - 1;
    if (this.failureTops === null) this.failureTops = [top];
    else this.failureTops.push(top);
    this.tally.live++;
    this.tally.failures++;
    return top;
  }

  /** The index of the first slot of `items`. */
  base(): number {
    const chunks = this.chunks;
    return chunks === null ? 0 : chunks.top;
  }

  /**
   * While unwinding: `cursor` as a slot index of the whole stack, which
   * handles and reports use (`cursor` counts in the chunk being unwound).
   */
  position(): number {
    const chunks = this.chunks;
    return chunks === null ? this.cursor : chunks.at + this.cursor;
  }

  /**
   * Puts the full `items` below and starts a new chunk (see `CHUNK`);
   * returns it.
   */
  spill(): unknown[] {
    const full = this.items;
    const chunks = this.chunks ??= new Chunks();
    chunks.full.push(full);
    chunks.bases.push(chunks.top);
    chunks.top += full.length;
    // Of the kind that holds any value from the start, as `NO_ITEMS` is.
    const items: unknown[] = [null];
    items.pop();
    return this.items = items;
  }

  /** The chunk holding slot `i`: its number, `full.length` for `items`. */
  chunkOf(i: number): number {
    const chunks = this.chunks;
    if (chunks === null) return 0;
    if (i >= chunks.top) return chunks.full.length;
    // The last chunk starting at or below `i`: a binary search, since a
    // handle may reach far down a large stack.
    const bases = chunks.bases;
    let lo = 0;
    let hi = bases.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >>> 1;
      if (bases[mid] <= i) lo = mid;
      else hi = mid - 1;
    }
    return lo;
  }

  /** Chunk number `k` (see `chunkOf()`). */
  chunk(k: number): unknown[] {
    const chunks = this.chunks;
    return chunks === null || k === chunks.full.length
      ? this.items
      : chunks.full[k];
  }

  /**
   * While unwinding, once the chunk being unwound is done: moves on to the
   * chunk below it and returns it, or returns `null` at the bottom.
   */
  chunkBelow(): unknown[] | null {
    const chunks = this.chunks;
    if (chunks === null || chunks.at === chunks.floor) return null;
    // The cursor starts again, in another chunk.
    if (this.watcher !== null) this.watcher.awaitingAt = -1;
    const k = this.chunkOf(chunks.at - 1);
    chunks.at = this.baseOf(k);
    return this.chunk(k);
  }

  /** The index of the first slot of chunk number `k`. */
  baseOf(k: number): number {
    const chunks = this.chunks;
    if (chunks === null) return 0;
    return k === chunks.full.length ? chunks.top : chunks.bases[k];
  }

  /**
   * Where the record a handle or group was given top slot `top` for has
   * its top slot now: the same index, unless a compaction moved the record
   * down (see {@linkcode Slots.compact}); -1 if it no longer has one.
   */
  current(top: number): number {
    const chunks = this.chunks;
    if (chunks === null || top >= chunks.floor) return top;
    const from = chunks.movedFrom;
    if (from === null) return -1;
    let lo = 0;
    let hi = from.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      const at = from[mid];
      if (at === top) return chunks.movedTo[mid];
      if (at < top) lo = mid + 1;
      else hi = mid - 1;
    }
    return -1;
  }

  /** Whether the record with top slot `top` is still pending. */
  isPending(top: number): boolean {
    if (this.retired) return false;
    const now = this.current(top);
    return now >= 0 && (!this.unwinding || now < this.position());
  }

  /**
   * Takes the pending record with top slot `top` out: a handle's entry
   * (one or three slots), or a group's (four: see `addGroup()`).
   */
  remove(top: number): void {
    top = this.current(top);
    if (top < 0) return;
    const k = this.chunkOf(top);
    const items = this.chunk(k);
    const chunks = this.chunks;
    const last = chunks === null ||
      (k === chunks.full.length && top >= chunks.fence);
    top -= this.baseOf(k);
    const marker = items[top];
    const width = typeof marker === "function"
      ? 1
      : marker === USE_BOTH
      ? 4
      : 3;
    if (isFailure(marker)) this.tally.failures--;
    this.tally.live--;
    if (!this.unwinding && last && top === items.length - 1) {
      // pop() rather than setting length: it is the cheaper operation in
      // every engine, and churn at the top is the common case.
      for (let i = 0; i < width; i++) items.pop();
      this.popDead();
    } else {
      if (width === 1) {
        items[top] = HOLE1;
      } else {
        // Four slots are a three-slot hole over a one-slot one.
        if (width === 4) items[top - 3] = HOLE1;
        items[top - 2] = items[top - 1] = undefined;
        items[top] = HOLE3;
      }
      if (!this.unwinding) this.compactIfSparse();
    }
  }

  /**
   * Pops holes off the top, so churn at the top of a long-lived stack
   * leaves nothing behind. Their handles already know they are done, so
   * their slots may be reused; `failureTops` forgets them first.
   */
  popDead(): void {
    let items = this.items;
    const fence = this.chunks === null ? 0 : this.chunks.fence;
    for (;;) {
      // Not below the fence: see `Chunks.fence`.
      if (fence !== 0 && this.base() + items.length <= fence) break;
      const top = items[items.length - 1];
      if (top === HOLE1) items.pop();
      else if (top === HOLE3) {
        items.pop();
        items.pop();
        items.pop();
      } else if (
        items.length === 0 && this.chunks !== null &&
        this.chunks.full.length > 0
      ) {
        // The chunk below comes back on top; none is left empty.
        const chunks = this.chunks;
        items = this.items = chunks.full.pop() as unknown[];
        chunks.top = chunks.bases.pop() as number;
        if (chunks.full.length === 0 && chunks.floor === 0) this.chunks = null;
      } else break;
    }
    const tops = this.failureTops;
    if (tops !== null) {
      const end = this.base() + items.length;
      while (tops.length > 0 && tops[tops.length - 1] >= end) tops.pop();
    }
    // V8 never shrinks an array that pop() empties: after a burst released
    // last in, first out, a long-lived stack would keep the room of its
    // largest size. Setting `length` lower does give room back, in place
    // (V8 frees half the unused room when one slot goes): done at each
    // power of two from `TRIM` down, once per size (`trimmedAt`), slot
    // and length put back as they were.
    const length = items.length;
    if (length >= TRIM && (length & (length - 1)) === 0 && !this.unwinding) {
      const chunks = this.chunks ??= new Chunks();
      if (chunks.trimmedAt !== length) {
        chunks.trimmedAt = length;
        const top = items[length - 1];
        items.length = length - 1;
        items.push(top);
      }
    }
  }

  /**
   * Compacts when holes are most of the slots: a long-lived stack whose
   * entries are released out of order (a server's per-connection entries)
   * would otherwise keep a slot or three per entry it ever had, since only
   * holes at the top are popped. Amortised: the slots must be more than
   * `SPARSE` (4,096) and sixteen per pending entry (a record has four at
   * most), so at least three quarters of what is walked goes.
   */
  compactIfSparse(): void {
    const chunks = this.chunks;
    const slots = this.base() + this.items.length -
      (chunks === null ? 0 : chunks.floor);
    if (slots > SPARSE && slots > 16 * this.tally.live) this.compact();
  }

  /**
   * Moves the pending records down over the holes, in order, into one
   * array whose indices start above every index given out so far, and
   * keeps, for each record a handle or group may hold, where its top slot
   * went (see `Chunks.movedFrom`): handles do not know their stack, so
   * they cannot be told. Of several `use(null)` placeholders one is kept:
   * the loops only note that they met one. Never while unwinding.
   */
  compact(): void {
    const old = this.chunks;
    const end = this.base() + this.items.length;
    const oldFence = old === null ? 0 : old.fence;
    // Walked from the top, records decoding only from there.
    const tops: number[] = []; // of the kept records, from the top down
    const widths: number[] = [];
    let size = 0;
    let sawNull = false;
    for (let k = old === null ? 0 : old.full.length; k >= 0; k--) {
      const items = this.chunk(k);
      const base = this.baseOf(k);
      let p = items.length;
      while (p > 0) {
        const top = items[--p];
        if (typeof top === "function") {
          tops.push(base + p);
          widths.push(1);
          size++;
          continue;
        }
        const width = typeof top === "object"
          ? 2
          : top === USE_BOTH
          ? 4
          : top === HOLE1 || top === NULL
          ? 1
          : 3;
        p -= width - 1;
        if (top === HOLE1 || top === HOLE3) continue;
        if (top === NULL) {
          if (sawNull) continue;
          sawNull = true;
        }
        tops.push(base + p + width - 1);
        widths.push(width);
        size += width;
      }
    }
    // Copied bottom first, each top slot at a fresh index, from `end` up,
    // so none is taken for an old one; for each record a handle or group
    // can hold, its old top and its new one: apart for the records the
    // last compaction kept (below its fence), whose handles hold the index
    // `movedFrom` lists.
    const items: unknown[] = [null]; // of the kind that holds any value
    items.pop();
    const from: number[] = [];
    const to: number[] = [];
    const fenced: number[] = [];
    const fencedTo: number[] = [];
    const failures: number[] = [];
    for (let i = tops.length - 1; i >= 0; i--) {
      const top = tops[i];
      const width = widths[i];
      const k = this.chunkOf(top);
      const chunk = this.chunk(k);
      const at = top - this.baseOf(k);
      for (let j = at - width + 1; j <= at; j++) items.push(chunk[j]);
      const now = end + items.length - 1;
      const marker = chunk[at];
      if (
        typeof marker === "function" || marker === DEFER1 ||
        marker === DEFERN || marker === USE_BOTH || isFailure(marker)
      ) {
        if (top >= oldFence) {
          from.push(top);
          to.push(now);
        } else {
          fenced.push(top);
          fencedTo.push(now);
        }
      }
      if (isFailure(marker)) failures.push(now);
    }
    const chunks = new Chunks();
    chunks.top = chunks.floor = end;
    chunks.fence = end + size;
    // Records moved before: where the index their handles hold leads
    // now. `old.movedTo` and `fenced` both ascend, so one
    // pass pairs them; those no longer pending are dropped.
    if (old !== null && old.movedFrom !== null) {
      const firstFrom: number[] = [];
      const firstTo: number[] = [];
      let j = 0;
      for (let i = 0; i < old.movedFrom.length; i++) {
        const now = old.movedTo[i];
        while (j < fenced.length && fenced[j] < now) j++;
        if (j < fenced.length && fenced[j] === now) {
          firstFrom.push(old.movedFrom[i]);
          firstTo.push(fencedTo[j]);
        }
      }
      // The records moved before lie below the others, and their first
      // indices below `old.floor`: both lists still ascend.
      chunks.movedFrom = firstFrom.concat(from);
      chunks.movedTo = firstTo.concat(to);
    } else {
      chunks.movedFrom = from;
      chunks.movedTo = to;
    }
    this.items = items;
    this.chunks = chunks;
    this.failureTops = failures.length > 0 ? failures : null;
  }

  /** Takes the pending record with top slot `top` out and runs it. */
  runEarly(top: number): unknown {
    top = this.current(top);
    if (top < 0) return undefined;
    const k = this.chunkOf(top);
    const items = this.chunk(k);
    const at = top - this.baseOf(k);
    const marker = items[at];
    if (typeof marker === "function") {
      this.remove(top);
      return marker();
    }
    const fn = items[at - 2] as Callable;
    const arg = items[at - 1];
    this.remove(top);
    return invoke(fn, arg, marker);
  }

  /**
   * The name of the pending cleanup function whose record has top slot
   * `top` (a handle's: see {@linkcode Slots.runEarly}). For reports only.
   */
  entryName(top: number): string {
    top = this.current(top);
    if (top < 0) return "anonymous";
    const k = this.chunkOf(top);
    const items = this.chunk(k);
    const at = top - this.baseOf(k);
    const marker = items[at];
    return functionName(typeof marker === "function" ? marker : items[at - 2]);
  }

  /**
   * Releases every pending failure-only entry at once, freeing its cleanup
   * and arguments now (a long-lived stack that commits in a loop must not
   * keep them). Costs one step per failure-only entry registered since the
   * last commit.
   */
  commit(): number {
    const tally = this.tally;
    const released = tally.failures;
    tally.live -= released;
    tally.failures = 0;
    const tops = this.failureTops;
    if (tops !== null) {
      for (let i = 0; i < tops.length; i++) {
        const k = this.chunkOf(tops[i]);
        const items = this.chunk(k);
        const top = tops[i] - this.baseOf(k);
        if (isFailure(items[top])) {
          items[top - 2] = items[top - 1] = undefined;
          items[top] = HOLE3;
        }
      }
      this.failureTops = null;
    }
    this.generation++;
    this.popDead();
    if (!this.unwinding) this.compactIfSparse();
    return released;
  }

  /** Starts unwinding: {@linkcode Slots.next} takes records from the top. */
  begin(): void {
    this.unwinding = true;
    this.cursor = this.items.length;
    const chunks = this.chunks;
    if (chunks !== null) chunks.at = chunks.top;
  }

  /**
   * Runs every pending record, newest first, as `dispose()` does, and
   * retires this storage: every record runs whatever the others throw,
   * and the errors are chained as the spec nests them (the newest error
   * suppresses the earlier ones). The loop keeps its position in a local
   * and decodes every record in place: a call per record into
   * {@linkcode Slots.next} cost Bun a fifth of a small stack's disposal.
   *
   * `settle(this, result, took, owner)` judges what the built-in would
   * ignore but this library must not drop: it is called, with `took` also
   * in {@linkcode Slots.took}, for every result other than `undefined` and
   * for every value with only `Symbol.asyncDispose`, and throws to put an
   * error in the chain. Throws the single error or the chain; the links
   * of a chain are made without a stack trace of their own where the
   * engine allows (see `suppressUntraced()`), and the one thrown gets the
   * trace from this method's caller on, as the built-in's has.
   */
  unwindSync(settle: Settle, owner: string): void {
    // Disposed from inside a watched loop's call: watched in its place.
    // Checked here, not in `dispose()`: there the check cost V8 an inlining
    // (3-entry stacks 18% slower on Node).
    if (
      watchedCalls.depth !== 0 && this.watcher === null &&
      watchedCalls.watch(this, false)
    ) {
      const saved = enterCall(this.watcher);
      try {
        this.unwindSync(settle, owner);
      } finally {
        leaveCall(saved);
        // Set by watch() (the check above narrowed it to null).
        const watcher = this.watcher as Watcher | null;
        if (watcher !== null) watcher.done(this);
      }
      return;
    }
    this.begin();
    // Chunk by chunk, from the top; slots do not move while unwinding.
    let items = this.items;
    let p = items.length;
    let error: unknown;
    let hasError = false;
    let chained = false;
    for (;;) {
      while (p > 0) {
        const top = items[--p];
        let result: unknown;
        let took: number = Took.FUNCTION;
        try {
          if (typeof top === "function") {
            // The common record, a one-slot `defer(fn)`, first and short.
            this.cursor = p;
            result = top();
            if (result === undefined) continue;
          } else if (typeof top === "object") {
            this.cursor = --p;
            took = Took.METHOD;
            result = (items[p] as Callable).call(top);
          } else if (top === HOLE1 || top === NULL) {
            continue; // use(null) owes nothing under dispose()
          } else if (top === HOLE3) {
            p -= 2;
            continue;
          } else if (top === USE_BOTH) {
            this.cursor = p -= 3;
            took = Took.METHOD;
            result = (items[p + 2] as Callable).call(items[p + 1]);
          } else {
            this.cursor = p -= 2;
            if (top === ADOPT || top === DEFER1 || top === FAIL1) {
              // Through a local: `items[p](…)` would pass `items` as `this`.
              const fn = items[p] as Callable;
              result = fn(items[p + 1]);
            } else if (top === USE) {
              took = Took.METHOD;
              result = (items[p] as Callable).call(items[p + 1]);
            } else if (top === USE_ASYNC) {
              took = Took.ASYNC_ONLY;
              result = (items[p] as Callable).call(items[p + 1]);
            } else {
              result = invoke(items[p] as Callable, items[p + 1], top);
            }
          }
          if (result !== undefined || took === Took.ASYNC_ONLY) {
            this.took = took;
            settle(this, result, took, owner);
          }
        } catch (e) {
          if (hasError) {
            error = suppressUntraced(e, error);
            chained = true;
          } else {
            error = e;
            hasError = true;
          }
          if (this.watcher !== null) {
            this.nameFailure(e, took);
            this.watch(error);
          }
        }
      }
      // This chunk done: the one below, if any.
      const below = this.chunkBelow();
      if (below === null) break;
      items = below;
      p = items.length;
    }
    this.retire();
    if (chained) {
      traceFrom(error as SuppressedErrorLike, Slots.prototype.unwindSync);
    }
    if (hasError) throw error;
  }

  /**
   * Runs every pending record, newest first, as `disposeAsync()` does
   * without a deadline (the spec's DisposeResources), and retires this
   * storage: each result awaited before the next record runs, a record
   * that threw synchronously not awaited, a `Symbol.dispose` fallback
   * awaited once (its result ignored) even when it threw, and a
   * `use(null)` owing one await at the end unless something else was
   * awaited. Errors chain as in {@linkcode Slots.unwindSync}; rejects with
   * the single error or the chain. Decodes in place, as `unwindSync()`
   * does: 7–9% of a small stack's async disposal on Bun.
   */
  async unwindAsync(): Promise<void> {
    this.begin();
    // Chunk by chunk, from the top; slots do not move while unwinding.
    let items = this.items;
    let p = items.length;
    let error: unknown;
    let hasError = false;
    let hasAwaited = false;
    let sawNull = false;
    for (;;) {
      while (p > 0) {
        const top = items[--p];
        let result: unknown;
        // A Symbol.dispose called as the fallback: the spec wraps it in a
        // function that ignores its result and returns a promise, so one
        // await follows, after which a throw surfaces as a rejection.
        let fallback = false;
        let failure: unknown;
        let failed = false;
        try {
          // `took` too, for the exit machinery's report (see `watcher`).
          if (typeof top === "function") {
            this.cursor = p;
            this.took = Took.FUNCTION;
            result = top();
          } else if (typeof top === "object") {
            this.cursor = --p;
            this.took = Took.FALLBACK;
            fallback = true;
            (items[p] as Callable).call(top);
          } else if (top === HOLE1) {
            continue;
          } else if (top === HOLE3) {
            p -= 2;
            continue;
          } else if (top === NULL) {
            sawNull = true;
            continue;
          } else if (top === USE_BOTH) {
            this.cursor = p -= 3;
            this.took = Took.METHOD;
            result = (items[p] as Callable).call(items[p + 1]);
          } else {
            this.cursor = p -= 2;
            if (top === USE_ASYNC) {
              this.took = Took.METHOD;
              result = (items[p] as Callable).call(items[p + 1]);
            } else if (top === ADOPT || top === DEFER1 || top === FAIL1) {
              this.took = Took.FUNCTION;
              const fn = items[p] as Callable; // not items[p](…): this
              result = fn(items[p + 1]);
            } else if (top === USE) {
              this.took = Took.FALLBACK;
              fallback = true;
              (items[p] as Callable).call(items[p + 1]);
            } else {
              this.took = Took.FUNCTION;
              result = invoke(items[p] as Callable, items[p + 1], top);
            }
          }
        } catch (e) {
          failure = e;
          failed = true;
        }
        // A cleanup that threw synchronously is not awaited.
        if (!failed || fallback) {
          hasAwaited = true;
          try {
            await result;
          } catch (e) {
            failure = e;
            failed = true;
          }
        }
        if (failed) {
          error = this.chainFailure(failure, error, hasError);
          hasError = true;
        }
      }
      // This chunk done: the one below, if any.
      const below = this.chunkBelow();
      if (below === null) break;
      items = below;
      p = items.length;
    }
    if (sawNull && !hasAwaited) await undefined;
    this.retire();
    if (this.watcher !== null) this.watcher.done(this);
    if (hasError) throw error;
  }

  /**
   * {@linkcode Slots.unwindAsync} for a loop the exit machinery watches (an
   * exit-bound stack's, or one such a stack's cleanup disposes): the same
   * calls, awaits and error chain, so the same microtask order as the
   * built-in. It also tells the watcher when an entry's call has returned
   * (see {@linkcode Slots.calling}) and counts its calls in
   * `watchedCalls`: a store and two writes per entry that the plain loop
   * does not pay (3–7% of it).
   */
  async unwindAsyncWatched(): Promise<void> {
    this.begin();
    let error: unknown;
    let hasError = false;
    let hasAwaited = false;
    for (;;) {
      let result: unknown;
      let failure: unknown;
      let failed = false;
      const saved = enterCall(this.watcher);
      try {
        result = this.next(true);
      } catch (e) {
        failure = e;
        failed = true;
      }
      leaveCall(saved);
      const took = this.took;
      if (took === Took.END) break;
      const watcher = this.watcher;
      if (watcher !== null) watcher.awaitingAt = this.cursor;
      // As in unwindAsync(): a sync throw is not awaited, except from a
      // Symbol.dispose fallback, whose result is ignored.
      if (!failed || took === Took.FALLBACK) {
        hasAwaited = true;
        try {
          await (took === Took.FALLBACK ? undefined : result);
        } catch (e) {
          failure = e;
          failed = true;
        }
      }
      if (failed) {
        error = this.chainFailure(failure, error, hasError);
        hasError = true;
      }
    }
    if (this.sawNull && !hasAwaited) await undefined;
    this.retire();
    if (this.watcher !== null) this.watcher.done(this);
    if (hasError) throw error;
  }

  /**
   * Records that `failure` came from the entry taken last, taken as
   * `took` says (see {@linkcode failedIn}); never throws.
   */
  nameFailure(failure: unknown, took: number): void {
    this.nameFailureAt(failure, this.position(), took);
  }

  /**
   * {@linkcode Slots.nameFailure} for a record taken earlier (see
   * {@linkcode Slots.valueAt}): a group's member.
   */
  nameFailureAt(failure: unknown, bottom: number, took: number): void {
    if (
      (typeof failure !== "object" || failure === null) &&
      typeof failure !== "function"
    ) return;
    if (!failedIn.has(failure)) {
      failedIn.set(failure, { target: this.targetAt(bottom, took), took });
    }
  }

  /**
   * The async loops' failure path: chains what the entry taken last
   * failed with over the chain so far (`error`, if `hasError`), as the
   * spec nests them, tells the watcher, and returns the chain.
   */
  chainFailure(failure: unknown, error: unknown, hasError: boolean): unknown {
    const chain = hasError ? suppress(failure, error) : failure;
    if (this.watcher !== null) {
      this.nameFailure(failure, this.took);
      this.watch(chain);
    }
    return chain;
  }

  /** Tells the watcher the error chain so far (see `watcher`). */
  watch(error: unknown): void {
    const watcher = this.watcher as Watcher;
    watcher.error = error;
    watcher.failed = true;
  }

  /**
   * Whether the async loop is still inside the call of the entry it took
   * last: an exit the exit machinery sees then came from that call's
   * synchronous part (a timer, a signal or a crash cannot interrupt it).
   */
  calling(): boolean {
    const watcher = this.watcher;
    return watcher !== null && watcher.awaitingAt !== this.cursor;
  }

  /**
   * The name of the entry the async loop is awaiting, or `null` if it
   * took none: for the exit machinery's report.
   */
  awaitedName(): string | null {
    if (!this.unwinding || this.took === Took.END) return null;
    return this.takenName();
  }

  /**
   * Takes the next pending record below `cursor`, newest first, and calls
   * it the way the sync (`async` false) or async dispose path does: the
   * one place that decodes records for running them. Holes are skipped; a
   * `use(null)` sets `sawNull`. Sets `cursor` to the record's bottom and
   * `took` to what it was *before* calling, so a loop whose call threw
   * still knows. Returns what the call returned (ignore it for
   * `Took.FALLBACK`), or `undefined` with `took` at `Took.END`.
   */
  next(async: boolean): unknown {
    // Kept small so engines inline it into the dispose loops: the common
    // records here, the rest in nextMarked().
    const chunks = this.chunks;
    let items = this.items;
    if (chunks !== null && chunks.at !== chunks.top) {
      items = this.chunk(this.chunkOf(chunks.at));
    }
    let p = this.cursor;
    for (;;) {
      while (p > 0) {
        const top = items[--p];
        if (typeof top === "function") {
          this.cursor = p;
          this.took = Took.FUNCTION;
          return top();
        }
        if (typeof top === "object") {
          this.cursor = --p;
          this.took = async ? Took.FALLBACK : Took.METHOD;
          return (items[p] as Callable).call(top);
        }
        if (top === HOLE3) p -= 2;
        else if (top === NULL) this.sawNull = true;
        else if (top !== HOLE1) return this.nextMarked(items, p, async);
      }
      const below = this.chunkBelow();
      if (below === null) break;
      items = below;
      p = items.length;
    }
    this.cursor = 0;
    this.took = Took.END;
    return undefined;
  }

  /**
   * {@linkcode Slots.next} for an entry whose top slot is a marker, at `p`
   * in `items`, the chunk being unwound.
   */
  nextMarked(items: unknown[], p: number, async: boolean): unknown {
    const top = items[p];
    switch (top) {
      case DEFER1:
      case DEFERN:
      case ADOPT:
      case FAIL0:
      case FAIL1:
      case FAILN:
        this.cursor = p -= 2;
        this.took = Took.FUNCTION;
        return invoke(items[p] as Callable, items[p + 1], top);
      case USE:
        this.cursor = p -= 2;
        this.took = async ? Took.FALLBACK : Took.METHOD;
        return (items[p] as Callable).call(items[p + 1]);
      case USE_ASYNC:
        this.cursor = p -= 2;
        this.took = async ? Took.METHOD : Took.ASYNC_ONLY;
        return (items[p] as Callable).call(items[p + 1]);
      case USE_BOTH:
        this.cursor = p -= 3;
        this.took = Took.METHOD;
        return (items[async ? p : p + 2] as Callable).call(items[p + 1]);
      default:
        throw new TypeError(`DeferStack: corrupt record ${String(top)}`);
    }
  }

  /**
   * The name of the entry {@linkcode Slots.next} took last: the cleanup
   * function's name, or for a `use()`d value its class's (its own name for
   * a function value); `"anonymous"` when there is none. For reports only.
   */
  takenName(): string {
    return this.nameAt(this.position(), this.took);
  }

  /**
   * The `use()`d value of the entry {@linkcode Slots.next} took last, or
   * `undefined` for a cleanup function: how a deadline tells that the
   * entry it stopped waiting for is a group.
   */
  takenValue(): unknown {
    return this.valueAt(this.position(), this.took);
  }

  /**
   * For a record taken earlier, whose bottom slot was `bottom`
   * (`position()` then) and taken as `took` says: its `use()`d value, or `undefined` for
   * a cleanup function. Valid until `retire()`: records taken stay put.
   */
  valueAt(bottom: number, took: number): unknown {
    if (took === Took.FUNCTION) return undefined;
    const k = this.chunkOf(bottom);
    return this.chunk(k)[bottom - this.baseOf(k) + 1];
  }

  /**
   * {@linkcode Slots.takenName} for a record taken earlier (see
   * {@linkcode Slots.valueAt}): what a group reports for each member still
   * running. For reports only.
   */
  nameAt(bottom: number, took: number): string {
    const target = this.targetAt(bottom, took);
    return took === Took.FUNCTION ? functionName(target) : valueName(target);
  }

  /**
   * The function (`took` is `Took.FUNCTION`) or value of the record at
   * `bottom`, read from the slots only.
   */
  targetAt(bottom: number, took: number): unknown {
    const k = this.chunkOf(bottom);
    const items = this.chunk(k);
    const at = bottom - this.baseOf(k);
    return took === Took.FUNCTION ? items[at] : items[at + 1];
  }

  /**
   * The names of the entries still pending below `position()`, in the order
   * they would run: newest first. For reports only.
   */
  pendingNames(): string[] {
    const names: string[] = [];
    const cursor = this.position();
    const floor = this.chunks === null ? 0 : this.chunks.floor;
    let end = cursor;
    while (end > floor) {
      const k = this.chunkOf(end - 1);
      const items = this.chunk(k);
      const base = this.baseOf(k);
      end = base;
      let p = cursor - base;
      if (p > items.length) p = items.length;
      while (p > 0) {
        const top = items[--p];
        if (typeof top === "function") names.push(functionName(top));
        else if (typeof top === "object") names.push(valueName(items[--p + 1]));
        else if (top === USE || top === USE_ASYNC) {
          names.push(valueName(items[p - 1]));
          p -= 2;
        } else if (top === USE_BOTH) {
          names.push(valueName(items[p - 2]));
          p -= 3;
        } else if (top === NULL || top === HOLE1) continue;
        else {
          if (top !== HOLE3) names.push(functionName(items[p - 2]));
          p -= 2;
        }
      }
    }
    return names;
  }

  /**
   * Makes every slot a hole, before `retire()`: once the rest of these
   * records was run for a dispose loop that is awaiting (at an exit, or a
   * stall), the loop finds nothing left should it resume, without a check
   * after each await.
   */
  hollowOut(): void {
    this.items.fill(HOLE1);
    if (this.chunks !== null) {
      for (const chunk of this.chunks.full) chunk.fill(HOLE1);
    }
  }

  /** True once every entry was dropped or has run: no handle is pending. */
  get retired(): boolean {
    return this.items === RETIRED;
  }

  /**
   * Drops every entry for good: after disposal, or for `release()`. One
   * store, on purpose: with the counts and flags reset here too, Bun
   * stopped optimising a small stack's whole life as one piece, and a
   * 3-entry stack took 1.6 times as long. Nothing reads them once
   * `retired` is true (`size` checks it).
   */
  retire(): void {
    this.items = RETIRED;
    // A kept handle keeps its `Slots`: it must not keep the entries.
    if (this.chunks !== null) this.chunks = null;
  }

  /**
   * While unwinding: retires this storage, and returns a new one holding
   * the records not taken yet, for {@linkcode Slots.next} to go on with.
   * A deadline that stops a group keeps them so, should the process now
   * exit, they still run; the handles on them are done either way.
   */
  detach(): Slots {
    const rest = new Slots();
    rest.items = this.items;
    rest.chunks = this.chunks;
    rest.unwinding = true;
    rest.cursor = this.cursor;
    rest.sawNull = this.sawNull;
    this.retire();
    return rest;
  }
}

/** The full chunks below a stack's `items`, and where each starts. */
class Chunks {
  /** Bottom first. */
  full: unknown[][] = [];
  /** The index of the first slot of each. */
  bases: number[] = [];
  /** The index of the first slot of `items`, the chunk on top. */
  top = 0;
  /** While unwinding: the index of the first slot of the chunk unwound. */
  at = 0;
  /**
   * The index of the lowest slot: 0, or since the last compaction (see
   * {@linkcode Slots.compact}) where the records it kept begin.
   */
  floor = 0;
  /**
   * The end of the records the last compaction kept: below it, slots are
   * never popped (a released record there stays a hole until the next
   * compaction), so their indices, which `movedTo` names, are never given
   * to another record.
   */
  fence = 0;
  /**
   * The top slots, ascending, that handles and groups were given for the
   * records compactions kept (`null` before the first), and where each
   * record's top slot is now (`movedTo`, also ascending).
   */
  movedFrom: number[] | null = null;
  movedTo: number[] = [];
  /** The length `items` last gave room back at (see `popDead()`). */
  trimmedAt = 0;
}

/** {@linkcode Slots.addUse}'s record as the first items: see `NO_ITEMS`. */
function firstUse(
  value: object,
  syncMethod: Callable | undefined,
  asyncMethod: Callable | undefined,
): unknown[] {
  if (asyncMethod === undefined) {
    return typeof value === "object"
      ? [syncMethod, value]
      : [syncMethod, value, USE];
  }
  return syncMethod === undefined
    ? [asyncMethod, value, USE_ASYNC]
    : [asyncMethod, value, syncMethod, USE_BOTH];
}

/**
 * The items of every retired `Slots`: nothing is ever added to one (its
 * stack has a fresh `Slots` or is disposed), so they can share one.
 */
const RETIRED: unknown[] = [];

/**
 * The items of every `Slots` without an entry yet: never written, the
 * first entry replaces it. That saves an empty stack its array, and lets
 * the first entry bring an array literal whose elements are already of
 * the kind that holds any value. An array made empty and pushed a
 * function changes kind at that push, and V8 then stopped inlining every
 * later `push` (10^6 `defer()` entries took 2.2 times as long). Made of
 * that kind itself, for the same reason: JavaScriptCore then optimises a
 * one-entry stack's whole life away.
 */
const NO_ITEMS: unknown[] = [null];
NO_ITEMS.pop();

/**
 * The most slots `items` takes before a record goes into a new chunk,
 * the full one below it. On Bun (JavaScriptCore), filling chunks of 16,384
 * slots instead of one array took 0.7–0.8 of the time for `use()` at 10^5
 * and 10^6 entries. On V8 (Deno, Node) a loop over several chunks disposed
 * 10^5 entries up to twice as slowly, and joining them first cost Bun more
 * than the chunks saved, so on V8 a stack is one array at every size: this
 * bound is never reached.
 */
const CHUNK: number = "Bun" in globalThis ? 16_384 : 0x7fff_ffff;

/** See {@linkcode Slots.compactIfSparse}. */
const SPARSE = 4_096;

/** The smallest length `popDead()` copies `items` at to give room back. */
const TRIM = 16_384;

function functionName(fn: unknown): string {
  const name = typeof fn === "function" ? fn.name : "";
  return typeof name === "string" && name !== "" ? name : "anonymous";
}

function valueName(value: unknown): string {
  if (typeof value === "function") return functionName(value);
  try {
    const proto = Object.getPrototypeOf(value);
    return functionName(proto === null ? undefined : proto.constructor);
  } catch {
    return "anonymous"; // a proxy whose trap throws
  }
}
