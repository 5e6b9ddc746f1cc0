/**
 * `scope()`: the `using` block as a function, for code without the syntax.
 *
 * @module
 */

import { type DeferOptions, DeferStack } from "./defer_stack.ts";
import { suppress } from "./suppressed_error.ts";
import { describe } from "./describe.ts";
import { readThen } from "./thenable.ts";
import { createsStacks } from "./leak_check.ts";

/**
 * Runs `body` with a new {@linkcode DeferStack} and disposes the stack on
 * every way out, like a `using` block (or `await using`, when `body` returns
 * a promise). For code that cannot use the syntax: Node 22, JavaScript
 * without a compiler, older TypeScript targets.
 *
 * - If `body` returns normally, the stack is committed (its
 *   {@linkcode DeferStack.onFailure} entries are released) and disposed,
 *   and `scope` returns what `body` returned.
 * - If `body` throws, the stack is disposed (failure-only entries run too)
 *   and the error propagates. If disposal throws as well, the result is
 *   `SuppressedError { error: <disposal error>, suppressed: <body error> }`,
 *   as a `using` block nests them.
 * - If `body` returns a promise (an async function) or another thenable,
 *   `scope` returns a promise: once it settles, the stack is disposed with
 *   `disposeAsync()`, under the same rules. Its `then` is read once; a
 *   `then` getter that throws counts as a throw of `body`.
 * - If `body` disposed the stack itself, or handed its entries over with
 *   {@linkcode DeferStack.move} (`return d.move()`), there is nothing left
 *   to commit or dispose: `scope` returns what `body` returned, and a moved
 *   stack keeps its cleanups, as after a `using` block.
 *
 * @param body The code to run; receives the stack to register cleanups on.
 * @param options Options for the stack, as for {@linkcode defer}.
 * @returns Never: `body` always throws, and so does `scope`. The other
 * signatures: what `body` returns (`scope(() => 1)` is a `number`,
 * `scope(async () => 1)` a `Promise<number>`); for a thenable that is not
 * a promise (a query builder, say), a `Promise` of what it resolves to.
 *
 * @example Synchronous
 * ```ts
 * import { scope } from "@cleanup/defer";
 * import assert from "node:assert/strict";
 *
 * const log: string[] = [];
 * const total = scope((d) => {
 *   d.defer(() => log.push("closed"));
 *   return 1 + 2;
 * });
 * assert.equal(total, 3);
 * assert.deepEqual(log, ["closed"]);
 * ```
 *
 * @example Asynchronous, with a failure-only cleanup
 * ```ts
 * import { scope } from "@cleanup/defer";
 * import assert from "node:assert/strict";
 *
 * const log: string[] = [];
 * await assert.rejects(
 *   scope(async (d) => {
 *     d.defer(async () => log.push("connection closed"));
 *     d.onFailure(() => log.push("rolled back"));
 *     throw new Error("query failed");
 *   }),
 *   { message: "query failed" },
 * );
 * assert.deepEqual(log, ["rolled back", "connection closed"]);
 * ```
 */
export function scope(
  body: (stack: DeferStack) => never,
  options?: DeferOptions,
): never;
/**
 * Runs `body` with a new {@linkcode DeferStack} and disposes the stack on
 * every way out, like an `await using` block: see the first signature.
 *
 * @param body The code to run; receives the stack to register cleanups on.
 * @param options Options for the stack, as for {@linkcode defer}.
 * @returns A promise of what the promise or thenable `body` returns
 * resolves to.
 */
export function scope<T>(
  body: (stack: DeferStack) => PromiseLike<T>,
  options?: DeferOptions,
): Promise<Awaited<T>>;
/**
 * Runs `body` with a new {@linkcode DeferStack} and disposes the stack on
 * every way out, like a `using` block: see the first signature.
 *
 * @param body The code to run; receives the stack to register cleanups on.
 * @param options Options for the stack, as for {@linkcode defer}.
 * @returns What `body` returns.
 */
export function scope<T>(
  body: (stack: DeferStack) => T,
  options?: DeferOptions,
): T;
export function scope<T>(
  body: (stack: DeferStack) => T,
  options?: DeferOptions,
): T {
  if (typeof body !== "function") {
    throw new TypeError(
      `scope(): body must be a function, got ${describe(body)}`,
    );
  }
  const stack = new DeferStack(options);
  let result: T;
  let then: unknown;
  try {
    result = body(stack);
    // A promise is one whatever its `then` says, as `await` sees it; any
    // other value's `then` is read once, inside the block: a getter that
    // throws fails the body, as it would fail an `await using` block.
    then = result instanceof Promise
      ? Promise.prototype.then
      : readThen(result);
  } catch (error) {
    try {
      stack.dispose();
    } catch (disposalError) {
      throw suppress(disposalError, error);
    }
    throw error;
  }
  if (typeof then === "function") {
    return settle(stack, result, then as Then) as T;
  }
  // The body may have disposed or moved its stack: as at the end of a
  // `using` block, there is then nothing left to commit or dispose.
  if (!stack.disposed) stack.commit();
  stack.dispose();
  return result;
}
createsStacks(scope);

type Then = (
  this: unknown,
  onFulfilled: (value: unknown) => void,
  onRejected: (reason: unknown) => void,
) => unknown;

async function settle(
  stack: DeferStack,
  pending: unknown,
  then: Then,
): Promise<unknown> {
  let value: unknown;
  try {
    // A native promise is awaited as is; any other thenable through the
    // `then` already read, with the same ticks as awaiting it directly.
    value = await (pending instanceof Promise ? pending : {
      then: (resolve: (value: unknown) => void, reject: (e: unknown) => void) =>
        then.call(pending, resolve, reject),
    });
  } catch (error) {
    try {
      await stack.disposeAsync();
    } catch (disposalError) {
      throw suppress(disposalError, error);
    }
    throw error;
  }
  if (!stack.disposed) stack.commit();
  await stack.disposeAsync();
  return value;
}
