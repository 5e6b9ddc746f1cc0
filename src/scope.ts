/**
 * `scope()`: the `using` block as a function, for code without the syntax.
 *
 * @module
 */

import { type DeferOptions, DeferStack, isThenable } from "./defer_stack.ts";
import { suppress } from "./suppressed_error.ts";

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
 * - If `body` returns a promise (an async function), `scope` returns a
 *   promise: once the body's promise settles, the stack is disposed with
 *   `disposeAsync()`, under the same rules.
 *
 * @param body The code to run; receives the stack to register cleanups on.
 * @param options Options for the stack, as for {@linkcode defer}.
 * @returns What `body` returns: `scope(() => 1)` is a `number`,
 * `scope(async () => 1)` a `Promise<number>`.
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
export function scope<T>(
  body: (stack: DeferStack) => T,
  options?: DeferOptions,
): T {
  if (typeof body !== "function") {
    throw new TypeError(
      `scope(): body must be a function, got ${
        body === null ? "null" : typeof body
      }`,
    );
  }
  const stack = new DeferStack(options);
  let result: T;
  try {
    result = body(stack);
  } catch (error) {
    try {
      stack.dispose();
    } catch (disposalError) {
      throw suppress(disposalError, error);
    }
    throw error;
  }
  if (isThenable(result)) {
    return settle(stack, result) as T;
  }
  stack.commit();
  stack.dispose();
  return result;
}

async function settle<T>(
  stack: DeferStack,
  pending: PromiseLike<T>,
): Promise<T> {
  let value: T;
  try {
    value = await pending;
  } catch (error) {
    try {
      await stack.disposeAsync();
    } catch (disposalError) {
      throw suppress(disposalError, error);
    }
    throw error;
  }
  stack.commit();
  await stack.disposeAsync();
  return value;
}
