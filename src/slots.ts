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
 * Handles locate their entry by the index of its top slot. Indices stay
 * valid because slots never move: a released entry below the top becomes a
 * hole, and the array only shrinks from the top, when the top entry is
 * released (then holes just below it go too). So churn at the top (last
 * in, first released) leaves nothing behind; a hole stays as long as a live
 * entry sits above it, so releasing in first-in, first-out order keeps a
 * hole's slots (not its cleanup or arguments, which are freed at once)
 * until the entries above it go. An index
 * can be reused after such a shrink, but only by a new entry after the old
 * one was released through its own handle, which then knows it is done.
 * `release()` of the whole stack and the end of disposal retire the `Slots`
 * object itself, which retires every handle on it at once; `release()` gives
 * the stack a fresh one. `commit()` turns every pending failure-only record
 * into a hole, found through `failureTops`, and bumps `generation`: a
 * failure-only handle carries the generation it was registered in, and is
 * done once that is not the current one (its slot may be reused by then).
 *
 * The pending counts live in a {@linkcode Tally} of their own, so the leak
 * check can watch them without reaching the entries (which may reach the
 * stack, and would then keep it alive).
 *
 * @module
 */

/** `fn, arg, DEFER1`: `fn(arg)`. */
export const DEFER1 = 1;
/** `fn, args, DEFERN`: `fn(...args)`. */
export const DEFERN = 2;
/** `fn, value, ADOPT`: `fn(value)`. */
export const ADOPT = 3;
/** `method, value, USE`: `method.call(value)`. */
export const USE = 4;
/** `asyncMethod, value, USE_ASYNC`: only disposable asynchronously. */
export const USE_ASYNC = 5;
/** `asyncMethod, value, syncMethod, USE_BOTH`. */
export const USE_BOTH = 6;
/** `use(null)`: nothing to call, one await owed in `disposeAsync()`. */
export const NULL = 7;
/** A released one-slot `defer(fn)` entry. */
export const HOLE1 = 8;
/** A released three-slot entry. */
export const HOLE3 = 9;
/** `fn, undefined, FAIL0`: `onFailure(fn)`. */
export const FAIL0 = 10;
/** `fn, arg, FAIL1`: `onFailure(fn, arg)`. */
export const FAIL1 = 11;
/** `fn, args, FAILN`: `onFailure(fn, ...args)`. */
export const FAILN = 12;

/** Whether a top slot marks a failure-only record. */
export function isFailure(marker: unknown): boolean {
  return marker === FAIL0 || marker === FAIL1 || marker === FAILN;
}

/**
 * The name a report gives the entry whose record has its bottom slot at
 * `bottom` and its top slot holding `marker`: the cleanup function's name
 * for `defer()`, `adopt()` and `onFailure()`, the value's constructor name
 * for `use()` (its own name if the value is a function), `"anonymous"` when
 * there is none. Only reports call this, never the dispose loops.
 */
export function recordName(
  items: readonly unknown[],
  bottom: number,
  marker: unknown,
): string {
  if (typeof marker === "function") return functionName(marker);
  if (typeof marker === "object") return valueName(marker);
  if (marker === USE || marker === USE_ASYNC || marker === USE_BOTH) {
    return valueName(items[bottom + 1]);
  }
  return functionName(items[bottom]);
}

/**
 * The errors `dispose()` throws for entries it started but cannot await,
 * with each entry's name: what the exit machinery reports as "not awaited"
 * when `process.exit()` leaves only synchronous cleanups a chance.
 */
export const notAwaited: WeakMap<object, string> = new WeakMap();

/** How many slots the record with top slot `marker` takes. */
export function recordWidth(marker: unknown): number {
  if (typeof marker === "function") return 1;
  if (typeof marker === "object") return 2;
  if (marker === NULL || marker === HOLE1) return 1;
  if (marker === USE_BOTH) return 4;
  return 3;
}

/**
 * The names of the entries still pending below slot `end` (exclusive), in
 * the order they would run: newest first. Holes (committed failure-only
 * records among them) and `use(null)` are not entries and are left out.
 */
export function pendingNames(slots: Slots, end: number): string[] {
  const items = slots.items;
  const names: string[] = [];
  let p = end;
  while (p > 0) {
    const marker = items[p - 1];
    const bottom = p - recordWidth(marker);
    p = bottom;
    if (marker === NULL || marker === HOLE1 || marker === HOLE3) continue;
    names.push(recordName(items, bottom, marker));
  }
  return names;
}

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

/** A callable as stored: called with whatever arguments the record holds. */
export type Callable = (...args: unknown[]) => unknown;

/**
 * Calls the cleanup of a `DEFER1`, `DEFERN`, `ADOPT` or `FAIL*` record the
 * way its marker says, `this` undefined: `fn(arg)`, `fn(...arg)` or `fn()`.
 */
export function invoke(fn: Callable, arg: unknown, marker: unknown): unknown {
  if (marker === DEFERN || marker === FAILN) return fn(...(arg as unknown[]));
  if (marker === FAIL0) return fn();
  return fn(arg);
}

/** A stack's pending counts: what `size` and the leak check read. */
export class Tally {
  /** Pending entries, `use(null)` placeholders not counted. */
  live = 0;
  /** Pending failure-only entries (included in `live`). */
  failures = 0;
}

/** The entries of one stack; handed over whole by `move()`. */
export class Slots {
  /** The records, bottom of the stack first. */
  items: unknown[] = [];
  /** The counts, kept apart from the entries for the leak check. */
  tally: Tally = new Tally();
  /**
   * The top slots of the failure-only records not yet committed, ascending
   * (released ones are holes by now); `null` until the first one. Indices
   * popped off the array are dropped from here at once, so each one names
   * a failure-only record or its hole, never another record's slot.
   */
  failureTops: number[] | null = null;
  /** Bumped by `commit()`: failure-only handles of older ones are done. */
  generation = 0;
  /** True once every entry was dropped or has run: no handle is pending. */
  retired = false;
  /** True while a dispose loop walks `items`; slots must not move then. */
  unwinding = false;
  /** While unwinding: records at or above this index have run or are running. */
  cursor = 0;

  /** Whether the `defer()` record with top slot `top` is still pending. */
  isPending(top: number): boolean {
    return !this.retired && (!this.unwinding || top < this.cursor);
  }

  /** Records a failure-only record just pushed, with its top slot last. */
  addFailure(): void {
    const top = this.items.length - 1;
    if (this.failureTops === null) this.failureTops = [top];
    else this.failureTops.push(top);
    this.tally.live++;
    this.tally.failures++;
  }

  /** Takes the pending record with top slot `top` out. */
  remove(top: number): void {
    const items = this.items;
    const marker = items[top];
    const width = typeof marker === "function" ? 1 : 3;
    if (isFailure(marker)) this.tally.failures--;
    this.tally.live--;
    if (!this.unwinding && top === items.length - 1) {
      // pop() rather than setting length: it is the cheaper operation in
      // every engine, and churn at the top is the common case.
      for (let i = 0; i < width; i++) items.pop();
      this.popDead();
    } else if (width === 1) {
      items[top] = HOLE1;
    } else {
      items[top - 2] = items[top - 1] = undefined;
      items[top] = HOLE3;
    }
  }

  /**
   * Pops holes off the top, so churn at the top of a long-lived stack
   * leaves nothing behind. Their handles already know they are done, so
   * their slots may be reused; `failureTops` forgets them first.
   */
  popDead(): void {
    const items = this.items;
    for (;;) {
      const top = items[items.length - 1];
      if (top === HOLE1) items.pop();
      else if (top === HOLE3) {
        items.pop();
        items.pop();
        items.pop();
      } else break;
    }
    const tops = this.failureTops;
    if (tops !== null) {
      while (tops.length > 0 && tops[tops.length - 1] >= items.length) {
        tops.pop();
      }
    }
  }

  /** Takes the pending record with top slot `top` out and runs it. */
  runEarly(top: number): unknown {
    const items = this.items;
    const marker = items[top];
    if (typeof marker === "function") {
      this.remove(top);
      return marker();
    }
    const fn = items[top - 2] as Callable;
    const arg = items[top - 1];
    this.remove(top);
    return invoke(fn, arg, marker);
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
      const items = this.items;
      for (let i = 0; i < tops.length; i++) {
        const top = tops[i];
        if (isFailure(items[top])) {
          items[top - 2] = items[top - 1] = undefined;
          items[top] = HOLE3;
        }
      }
      this.failureTops = null;
    }
    this.generation++;
    this.popDead();
    return released;
  }

  /** Drops every entry for good: after disposal, or for `release()`. */
  retire(): void {
    this.items = [];
    this.failureTops = null;
    this.tally.live = 0;
    this.tally.failures = 0;
    this.unwinding = false;
    this.retired = true;
  }
}
