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
 * | `HOLE1` or `undefined, undefined, HOLE3`| a released `defer()` entry     |
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
 * released (then holes just below it go too). So memory is bounded by the
 * stack's peak size however long register/release churn goes on. An index
 * can be reused after such a shrink, but only by a new entry after the old
 * one was released through its own handle, which then knows it is done.
 * `release()` of the whole stack and the end of disposal retire the `Slots`
 * object itself, which retires every handle on it at once; `release()` gives
 * the stack a fresh one.
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
/** A released three-slot `defer(fn, ...args)` entry. */
export const HOLE3 = 9;

/** A callable as stored: called with whatever arguments the record holds. */
export type Callable = (...args: unknown[]) => unknown;

/** The entries of one stack; handed over whole by `move()`. */
export class Slots {
  /** The records, bottom of the stack first. */
  items: unknown[] = [];
  /** Pending entries, `use(null)` placeholders not counted. */
  live = 0;
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

  /** Takes the pending `defer()` record with top slot `top` out. */
  remove(top: number): void {
    const items = this.items;
    const narrow = typeof items[top] === "function";
    this.live--;
    if (!this.unwinding && top === items.length - 1) {
      // pop() rather than setting length: it is the cheaper operation in
      // every engine, and churn at the top is the common case.
      items.pop();
      if (!narrow) {
        items.pop();
        items.pop();
      }
      // Holes just below go too, so churn at the top leaves nothing behind.
      let below = items[items.length - 1];
      while (below === HOLE1 || below === HOLE3) {
        items.pop();
        if (below === HOLE3) {
          items.pop();
          items.pop();
        }
        below = items[items.length - 1];
      }
    } else if (narrow) {
      items[top] = HOLE1;
    } else {
      items[top - 2] = undefined;
      items[top - 1] = undefined;
      items[top] = HOLE3;
    }
  }

  /** Takes the pending `defer()` record with top slot `top` out and runs it. */
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
    return marker === DEFER1 ? fn(arg) : fn(...(arg as unknown[]));
  }

  /** Drops every entry for good: after disposal, or for `release()`. */
  retire(): void {
    this.items = [];
    this.live = 0;
    this.unwinding = false;
    this.retired = true;
  }
}
