/**
 * What a stack and a group do alike with their entries: check and record
 * a registration, and dispose synchronously. Not exported from `mod.ts`.
 * `owner` names the class in error messages (`"DeferStack"`,
 * `"DeferGroup"`).
 *
 * @module
 */

import { type Callable, notAwaited, type Slots, Took } from "./slots.ts";
import { describe } from "./describe.ts";
import { observe, thenOf } from "./thenable.ts";

/** `use(value)`: checks `value`, reads its methods once, records it. */
export function useEntry<T>(storage: Slots, value: T, owner: string): T {
  if (value === null || value === undefined) {
    storage.addNull();
    return value;
  }
  if (typeof value !== "object" && typeof value !== "function") {
    throw new TypeError(
      `${owner}.use(): expected an object with Symbol.dispose or Symbol.asyncDispose, got ${
        describe(value)
      }`,
    );
  }
  // Each key read at a site of its own: one site fed both symbols becomes
  // a generic keyed load, several times slower on V8.
  const asyncMethod = methodOf(
    (value as unknown as Record<symbol, unknown>)[Symbol.asyncDispose],
    owner,
    "Symbol.asyncDispose",
  );
  const syncMethod = asyncMethod === undefined
    ? methodOf(
      (value as unknown as Record<symbol, unknown>)[Symbol.dispose],
      owner,
      "Symbol.dispose",
    )
    : fallbackOf(value as object);
  if (asyncMethod === undefined && syncMethod === undefined) {
    throw new TypeError(
      `${owner}.use(): the value has neither a Symbol.dispose nor a Symbol.asyncDispose method`,
    );
  }
  // A getter just read may have disposed or released the stack. The spec
  // then adds the entry to a list nothing runs; here nothing is recorded
  // (the retired storage's items are shared by every retired stack).
  if (!storage.retired) {
    storage.addUse(value as object, syncMethod, asyncMethod);
  }
  return value;
}

/** `adopt(value, onDispose)`: checks `onDispose`, records the entry. */
export function adoptEntry<T>(
  storage: Slots,
  value: T,
  onDispose: unknown,
  owner: string,
): T {
  if (typeof onDispose !== "function") {
    throw notCallable(owner, "adopt", "onDispose", onDispose);
  }
  storage.addAdopt(value, onDispose as Callable);
  return value;
}

/** The arguments after the first: the ones `defer()` and `onFailure()` bind. */
export function restOf(args: IArguments): unknown[] {
  const rest = new Array(args.length - 1);
  for (let i = 1; i < args.length; i++) rest[i - 1] = args[i];
  return rest;
}

/**
 * What `dispose()` makes of a result, for {@linkcode Slots.unwindSync}:
 * the built-in ignores it, but a callable `then` (read once, a throwing
 * getter counting as none) is async work that must not be dropped
 * silently, and neither is the disposal of a value with only
 * `Symbol.asyncDispose`. Either is started, its rejection handled, and a
 * TypeError naming the entry takes its place in the chain.
 */
export function settleSync(
  storage: Slots,
  result: unknown,
  took: number,
  owner: string,
): void {
  if (took === Took.ASYNC_ONLY) {
    observe(result, thenOf(result));
    throw notAwaitedError(
      storage,
      owner,
      "a value with only Symbol.asyncDispose cannot be disposed synchronously; its disposal was started but not awaited",
      result,
    );
  }
  const then = thenOf(result);
  if (then !== undefined) {
    observe(result, then);
    throw notAwaitedError(
      storage,
      owner,
      "a cleanup returned a promise, which dispose() cannot await",
      result,
    );
  }
}

/**
 * The TypeError `dispose()` throws for an entry it started but cannot
 * await, naming the entry; remembered for the exit report.
 */
function notAwaitedError(
  storage: Slots,
  owner: string,
  what: string,
  started: unknown,
): TypeError {
  const name = storage.takenName();
  // The started work is the cause: awaiting it still gives its outcome,
  // which would otherwise be swallowed by the handler attached to it.
  const error = new TypeError(
    `${owner}.dispose(): ${what} (${
      JSON.stringify(name)
    }). Use \`await using\` or disposeAsync()`,
    { cause: started },
  );
  notAwaited.set(error, name);
  return error;
}

/** The TypeError for a cleanup that is not a function. */
export function notCallable(
  owner: string,
  method: string,
  name: string,
  value: unknown,
): TypeError {
  return new TypeError(
    `${owner}.${method}(): ${name} must be a function, got ${describe(value)}`,
  );
}

/**
 * `Symbol.dispose` of a value that has a callable `Symbol.asyncDispose`,
 * or `undefined` if it is not callable or its getter throws: the built-in
 * `AsyncDisposableStack.use` accepts such a value without reading it at
 * all, and `dispose()` then treats it as async-only (a `TypeError` in the
 * chain, not a skipped cleanup).
 */
function fallbackOf(value: object): Callable | undefined {
  let method: unknown;
  try {
    method = (value as Record<symbol, unknown>)[Symbol.dispose];
  } catch {
    return undefined;
  }
  return typeof method === "function" ? method as Callable : undefined;
}

/** GetMethod on a value read: `undefined` if missing, a TypeError if bad. */
function methodOf(
  method: unknown,
  owner: string,
  name: string,
): Callable | undefined {
  if (method === undefined || method === null) return undefined;
  if (typeof method !== "function") {
    throw new TypeError(
      `${owner}.use(): the value's ${name} is not a function, got ${
        describe(method)
      }`,
    );
  }
  return method as Callable;
}
