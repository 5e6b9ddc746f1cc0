// One object, two dispose paths: dispose() never drops async work silently.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { defer } from "../mod.ts";
import { chain, thrown } from "./helpers.ts";

/**
 * A rejected promise that records every then() call on it, to see whether
 * a rejection handler was attached (so it cannot become unhandled).
 */
function trackedRejection(message: string): {
  promise: Promise<never>;
  handlers: unknown[];
} {
  const handlers: unknown[] = [];
  const promise = Promise.reject(new Error(message));
  const then = promise.then;
  promise.then = function (this: Promise<never>, ok?: unknown, fail?: unknown) {
    handlers.push(fail);
    return then.call(this, ok as never, fail as never);
  } as typeof promise.then;
  return { promise, handlers };
}

describe("dispose() with async-only work", () => {
  it("throws a TypeError naming await using for a value with only Symbol.asyncDispose", () => {
    const d = defer();
    d.use({ async [Symbol.asyncDispose]() {} });
    const e = thrown(() => d.dispose());
    assert.ok(e instanceof TypeError);
    assert.match(e.message, /await using/);
    assert.match(e.message, /disposeAsync\(\)/);
  });

  it("treats a value whose Symbol.dispose getter throws beside a Symbol.asyncDispose as async-only", () => {
    const log: string[] = [];
    const d = defer();
    d.use({
      [Symbol.asyncDispose]: async () => {
        log.push("async started");
      },
      get [Symbol.dispose](): never {
        throw new Error("use await using");
      },
    });
    assert.throws(() => d.dispose(), (e: unknown) => {
      assert.ok(e instanceof TypeError);
      assert.match(e.message, /await using/);
      return true;
    });
    assert.deepEqual(log, ["async started"]);
  });

  it("still starts the async-only disposal and runs every other entry", () => {
    const log: string[] = [];
    const d = defer();
    d.defer(() => log.push("below"));
    d.use({
      [Symbol.asyncDispose]() {
        log.push("async started");
        return Promise.resolve();
      },
    });
    d.defer(() => log.push("above"));
    assert.throws(() => d.dispose(), TypeError);
    assert.deepEqual(log, ["above", "async started", "below"]);
  });

  it("throws a TypeError when a cleanup returns a promise", () => {
    const log: string[] = [];
    const d = defer();
    d.defer(() => log.push("below"));
    d.defer(async () => {
      log.push("async cleanup");
    });
    const e = thrown(() => d.dispose());
    assert.ok(e instanceof TypeError);
    assert.match(e.message, /await using/);
    assert.deepEqual(log, ["async cleanup", "below"]);
  });

  it("treats any thenable returned by a cleanup like a promise", () => {
    const d = defer();
    let thenCalled = false;
    d.adopt(null, () => ({
      then(_ok: unknown, _fail: unknown) {
        thenCalled = true;
      },
    }));
    assert.throws(() => d.dispose(), TypeError);
    assert.equal(thenCalled, true);
  });

  it("chains that TypeError with other errors at the entry's place", () => {
    const d = defer();
    d.defer(() => {
      throw new Error("e1");
    });
    d.defer(() => Promise.resolve());
    d.defer(() => {
      throw new Error("e3");
    });
    const e = thrown(() => d.dispose());
    const c = chain(e) as {
      error: string;
      suppressed: { error: string; suppressed: string };
    };
    assert.equal(c.error, "e1");
    assert.match(c.suppressed.error, /promise/);
    assert.equal(c.suppressed.suppressed, "e3");
  });

  it("handles the rejection of a promise a cleanup returns", async () => {
    const { promise, handlers } = trackedRejection("late failure");
    const d = defer();
    d.defer(() => promise);
    assert.throws(() => d.dispose(), TypeError);
    assert.equal(handlers.length, 1);
    assert.equal(typeof handlers[0], "function");
    await Promise.resolve(); // let the handler run: it must not rethrow
  });

  it("handles the rejection of an async-only value's disposal", async () => {
    const { promise, handlers } = trackedRejection("async-only failure");
    const d = defer();
    d.use({ [Symbol.asyncDispose]: () => promise });
    assert.throws(() => d.dispose(), TypeError);
    assert.equal(handlers.length, 1);
    assert.equal(typeof handlers[0], "function");
    await Promise.resolve();
  });

  it("ignores a returned object whose then getter throws, as the built-in ignores every result", () => {
    const log: string[] = [];
    const d = defer();
    d.defer(() => log.push("below"));
    d.defer(() => ({
      get then(): never {
        throw new Error("then getter");
      },
    }));
    d.dispose();
    assert.deepEqual(log, ["below"]);
  });

  it("keeps the TypeError of an async-only value whose result's then getter throws", () => {
    const d = defer();
    d.use({
      [Symbol.asyncDispose]: () => ({
        get then(): never {
          throw new Error("then getter");
        },
      }),
    });
    const e = thrown(() => d.dispose());
    assert.ok(e instanceof TypeError);
    assert.match(e.message, /await using/);
  });

  it("hands a returned thenable two real callbacks, so calling either is safe", () => {
    const seen: string[] = [];
    const d = defer();
    d.defer(() => ({
      then(onFulfilled: unknown, onRejected: unknown) {
        seen.push(typeof onFulfilled, typeof onRejected);
        (onFulfilled as (value: unknown) => void)("done");
        (onRejected as (reason: unknown) => void)(new Error("late"));
      },
    }));
    assert.throws(() => d.dispose(), TypeError);
    assert.deepEqual(seen, ["function", "function"]);
  });

  it("names the cleanup that returned a promise, and keeps that promise as the cause", async () => {
    const d = defer();
    const late = new Error("late failure");
    d.defer(function flushLogs() {
      return Promise.reject(late);
    });
    const e = thrown(() => d.dispose()) as TypeError;
    assert.match(e.message, /"flushLogs"/);
    assert.ok(e.cause instanceof Promise);
    await assert.rejects(e.cause as Promise<unknown>, (r) => r === late);
  });

  it("names an async-only value by its class, and keeps its disposal as the cause", () => {
    let started: Promise<void> | undefined;
    class Pool {
      [Symbol.asyncDispose](): Promise<void> {
        started = Promise.resolve();
        return started;
      }
    }
    const d = defer();
    d.use(new Pool());
    const e = thrown(() => d.dispose()) as TypeError;
    assert.match(e.message, /"Pool"/);
    assert.ok(started !== undefined);
    assert.equal(e.cause, started);
  });

  it("calls Symbol.dispose, not Symbol.asyncDispose, for a value with both", () => {
    const log: string[] = [];
    const d = defer();
    d.use({
      [Symbol.dispose]: () => log.push("sync"),
      [Symbol.asyncDispose]: async () => {
        log.push("async");
      },
    });
    d.dispose();
    assert.deepEqual(log, ["sync"]);
  });
});

describe("disposeAsync() with sync work", () => {
  it("runs synchronous cleanups and values with only Symbol.dispose", async () => {
    const log: string[] = [];
    const d = defer();
    d.use({ [Symbol.dispose]: () => log.push("use") });
    d.defer(() => log.push("defer"));
    await d.disposeAsync();
    assert.deepEqual(log, ["defer", "use"]);
  });
});
