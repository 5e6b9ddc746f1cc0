/**
 * Internal storage of a stack's entries. Not exported from `mod.ts`.
 *
 * Entries live in two parallel arrays, `values` and `ops`, so a `use()` of a
 * plain disposable costs two array slots and no allocation. What `ops[i]`
 * holds says what kind of entry slot `i` is:
 *
 * - a function: a `use()`d value with only `Symbol.dispose`; it is called
 *   with `this = values[i]`;
 * - an {@linkcode Entry}: every other kind (defer, adopt, async-capable use);
 *   `values[i]` is unused;
 * - `undefined`: a `use(null)` or `use(undefined)`, kept only for the one
 *   extra await the spec gives it in `disposeAsync()`.
 *
 * @module
 */

import type { DeferHandle } from "./defer_handle.ts";

/** `fn(...args)` with `this` undefined: `defer()`. */
export const KIND_DEFER = 0;
/** `fn(value)` with `this` undefined: `adopt()`. */
export const KIND_ADOPT = 1;
/** `asyncMethod.call(value)`, sync path has `syncMethod` too: `use()`. */
export const KIND_USE_BOTH = 2;
/** `asyncMethod.call(value)` and no sync method: `use()`. */
export const KIND_USE_ASYNC = 3;

/**
 * Once more than this many released entries sit below the top of the stack,
 * and they are more than half of it, the arrays are compacted. Below it,
 * compacting would cost more than the holes.
 */
const MIN_HOLES_TO_COMPACT = 64;

/** The entries of one stack; handed over whole by `move()`. */
export class Storage {
  values: unknown[] = [];
  ops: unknown[] = [];
  /** Pending entries, `use(null)` placeholders not counted. */
  live = 0;
  /** Released entries still occupying a slot. */
  holes = 0;
  /** While true, slots must not move: a dispose loop is walking them. */
  unwinding = false;

  /** Appends an entry; returns its slot index. */
  push(value: unknown, op: unknown): number {
    this.values.push(value);
    return this.ops.push(op) - 1;
  }

  /** Takes a pending entry out of the stack: it will not run from here. */
  detach(entry: Entry): void {
    entry.storage = null;
    this.live--;
    if (this.unwinding) return;
    const ops = this.ops;
    if (entry.index === ops.length - 1) {
      ops.pop();
      this.values.pop();
      // Released entries just below the new top go too, so register/release
      // churn at the top of a long-lived stack leaves nothing behind.
      while (this.holes > 0 && ops[ops.length - 1] === RELEASED) {
        ops.pop();
        this.values.pop();
        this.holes--;
      }
    } else {
      ops[entry.index] = RELEASED;
      this.values[entry.index] = undefined;
      this.holes++;
      if (
        this.holes > MIN_HOLES_TO_COMPACT && this.holes * 2 > ops.length
      ) {
        this.compact();
      }
    }
  }

  /** Drops every released slot, keeping order; re-indexes the entries. */
  compact(): void {
    const ops = this.ops;
    const values = this.values;
    let to = 0;
    for (let from = 0; from < ops.length; from++) {
      const op = ops[from];
      if (op === RELEASED) continue;
      if (op instanceof Entry) op.index = to;
      ops[to] = op;
      values[to] = values[from];
      to++;
    }
    ops.length = to;
    values.length = to;
    this.holes = 0;
  }

  /** Empties the storage: every entry is dropped, none will run. */
  clear(): void {
    for (const op of this.ops) {
      if (op instanceof Entry) op.drop();
    }
    this.values = [];
    this.ops = [];
    this.live = 0;
    this.holes = 0;
  }
}

/** Fills the slot of an entry released below the top of the stack. */
export const RELEASED: { readonly released: true } = Object.freeze({
  released: true,
});

/**
 * One entry that needs more than a function and a value; for `defer()`
 * entries it is also the {@linkcode DeferHandle} given to the caller.
 */
export class Entry implements DeferHandle {
  /** The storage while pending; `null` once run, released or dropped. */
  storage: Storage | null;
  index: number;
  kind: number;
  /** The cleanup, or for `use()` the async dispose method. */
  fn: ((...args: never[]) => unknown) | undefined;
  /** `defer()`: the bound arguments (or undefined for none); else the value. */
  arg: unknown;
  /** `use()` of a value with both methods: its `Symbol.dispose`. */
  syncMethod: (() => unknown) | undefined;

  constructor(
    storage: Storage,
    kind: number,
    fn: (...args: never[]) => unknown,
    arg: unknown,
    syncMethod: (() => unknown) | undefined,
  ) {
    this.storage = storage;
    this.kind = kind;
    this.fn = fn;
    this.arg = arg;
    this.syncMethod = syncMethod;
    this.index = storage.push(undefined, this);
    storage.live++;
  }

  get pending(): boolean {
    return this.storage !== null;
  }

  release(): boolean {
    const storage = this.storage;
    if (storage === null) return false;
    storage.detach(this);
    this.fn = undefined;
    this.arg = undefined;
    this.syncMethod = undefined;
    return true;
  }

  dispose(): unknown {
    const storage = this.storage;
    if (storage === null) return undefined;
    storage.detach(this);
    return this.call();
  }

  /** Marks the entry no longer pending without running it. */
  drop(): void {
    this.storage = null;
    this.fn = undefined;
    this.arg = undefined;
    this.syncMethod = undefined;
  }

  /**
   * Runs the entry the way `disposeAsync()` does and returns what is to be
   * awaited. The caller has already detached it.
   */
  call(): unknown {
    const fn = this.fn as (...args: unknown[]) => unknown;
    const arg = this.arg;
    this.fn = undefined;
    this.arg = undefined;
    this.syncMethod = undefined;
    switch (this.kind) {
      case KIND_DEFER:
        return arg === undefined ? fn() : fn(...(arg as unknown[]));
      case KIND_ADOPT:
        return fn(arg);
      default:
        return fn.call(arg);
    }
  }

  /**
   * Runs the entry the way `dispose()` does: a `use()`d value that has a
   * `Symbol.dispose` gets that method rather than its async one. Returns
   * what the cleanup returned. The caller has already detached it.
   */
  callSync(): unknown {
    if (this.kind === KIND_USE_BOTH) {
      const method = this.syncMethod as () => unknown;
      const value = this.arg;
      this.fn = undefined;
      this.arg = undefined;
      this.syncMethod = undefined;
      return method.call(value);
    }
    return this.call();
  }
}
