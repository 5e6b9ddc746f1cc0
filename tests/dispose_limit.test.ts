// disposeAsync({ timeout }) and disposeAsync({ signal }): stopping at a
// deadline or an abort, and naming what was left.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import process from "node:process";
import { defer, DisposeTimeoutError, SuppressedError } from "../mod.ts";
import { chain, rejected, thrown, within } from "./helpers.ts";

const never = (): Promise<void> => new Promise(() => {});

describe("disposeAsync({ timeout })", () => {
  it("rejects with a DisposeTimeoutError naming the running cleanup and those never started", async () => {
    const log: string[] = [];
    const d = defer();
    d.defer(function closeSocket() {
      log.push("closeSocket");
    });
    d.use(
      new (class TempDir {
        [Symbol.dispose](): void {
          log.push("TempDir");
        }
      })(),
    );
    d.defer(function flush() {
      return never();
    });
    d.defer(function first() {
      log.push("first");
    });
    const e = await rejected(d.disposeAsync({ timeout: 30 }));
    assert.ok(e instanceof DisposeTimeoutError);
    assert.equal(e.name, "DisposeTimeoutError");
    assert.equal(e.reason, "timeout");
    assert.deepEqual(e.running, ["flush"]);
    assert.deepEqual(e.notStarted, ["TempDir", "closeSocket"]);
    assert.match(
      e.message,
      /30 ms.*"flush" was still running.*2 never started/,
    );
    assert.deepEqual(log, ["first"]);
    assert.equal(d.disposed, true);
  });

  it("waits at least the timeout before giving up", async () => {
    const d = defer();
    d.defer(never);
    const start = Date.now();
    await rejected(d.disposeAsync({ timeout: 60 }));
    assert.ok(
      Date.now() - start >= 55,
      `gave up after ${Date.now() - start} ms`,
    );
  });

  it("resolves as usual when every cleanup finishes in time", async () => {
    const log: string[] = [];
    const d = defer();
    d.defer(() => log.push("a"));
    d.defer(async () => {
      await new Promise((r) => setTimeout(r, 5));
      log.push("b");
    });
    await d.disposeAsync({ timeout: 5_000 });
    assert.deepEqual(log, ["b", "a"]);
  });

  it("chains earlier cleanup errors under the DisposeTimeoutError", async () => {
    const d = defer();
    d.defer(function stuck() {
      return never();
    });
    d.defer(() => {
      throw new Error("e2");
    });
    d.defer(async () => {
      throw new Error("e3");
    });
    const e = await rejected(d.disposeAsync({ timeout: 20 }));
    assert.ok(e instanceof SuppressedError);
    assert.ok(e.error instanceof DisposeTimeoutError);
    assert.deepEqual(chain(e.suppressed), { error: "e2", suppressed: "e3" });
  });

  it("leaves a later rejection of the abandoned cleanup handled", async () => {
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown): void => void unhandled.push(reason);
    process.on("unhandledRejection", onUnhandled);
    try {
      const d = defer();
      d.defer(() =>
        new Promise((_, reject) =>
          setTimeout(() => reject(new Error("late")), 30)
        )
      );
      const e = await rejected(d.disposeAsync({ timeout: 5 }));
      assert.ok(e instanceof DisposeTimeoutError);
      await new Promise((r) => setTimeout(r, 80));
      assert.deepEqual(unhandled, []);
    } finally {
      process.off("unhandledRejection", onUnhandled);
    }
  });

  it("runs entries in the same order with the same error chain as without an argument", async () => {
    const run = async (limited: boolean): Promise<[string[], unknown]> => {
      const log: string[] = [];
      const d = defer();
      d.use({ [Symbol.dispose]: () => void log.push("use sync") });
      d.use({ [Symbol.asyncDispose]: async () => void log.push("use async") });
      d.use(null);
      d.adopt("x", (v) => log.push(`adopt ${v}`));
      d.defer((a: number, b: number) => log.push(`args ${a} ${b}`), 1, 2);
      d.onFailure(() => log.push("rollback"));
      d.defer(() => log.push("released")).release();
      d.defer(() => {
        throw new Error("sync throw");
      });
      d.defer(async () => {
        log.push("async throw");
        throw new Error("async throw");
      });
      const p = limited
        ? d.disposeAsync({ timeout: 10_000 })
        : d.disposeAsync();
      return [log, chain(await rejected(p))];
    };
    assert.deepEqual(await run(true), await run(false));
  });

  it("rejects options with a bad field with a TypeError or RangeError, never synchronously, leaving the stack open", async () => {
    const d = defer();
    d.defer(() => {});
    const cases: [unknown, ErrorConstructor, RegExp][] = [
      [{ timeout: -1 }, RangeError, /timeout must be 0 or more.*got -1/],
      [{ timeout: NaN }, RangeError, /got NaN/],
      [{ timeout: "100" }, TypeError, /timeout must be a number.*"100"/],
      [{ signal: {} }, TypeError, /signal must be an AbortSignal/],
    ];
    for (const [arg, type, message] of cases) {
      let p: Promise<void> | undefined;
      assert.doesNotThrow(() => {
        p = d.disposeAsync(arg as never);
      });
      const e = await rejected(p as Promise<void>);
      assert.ok(e instanceof type, `${String(arg)}: ${e}`);
      assert.match((e as Error).message, message);
      assert.equal(d.disposed, false);
    }
    await d.disposeAsync();
  });

  it("ignores an argument that is not an object, as the built-in does (a value passed on by then())", async () => {
    for (const arg of [null, 5, "x", true, () => {}]) {
      const log: string[] = [];
      const d = defer();
      d.defer(() => log.push("first"));
      d.defer(() => log.push("second"));
      await d.disposeAsync(arg as never);
      assert.deepEqual(log, ["second", "first"], String(arg));
      assert.equal(d.disposed, true);
    }
  });

  it("ignores an object that is not a plain one, such as a server passed on by then(), as the built-in ignores its argument", async () => {
    class Server {
      timeout = 0; // as on Node's http.Server
      signal = "not a signal";
    }
    const settled = Promise.resolve(new Server());
    const d = defer();
    d.defer(() => new Promise((resolve) => setTimeout(resolve, 20)));
    // Typed as the built-in's, which takes anything (and ignores it).
    const disposeAsync = d.disposeAsync.bind(d) as (
      x: unknown,
    ) => Promise<void>;
    assert.equal(await settled.then(disposeAsync), undefined);
    assert.equal(d.disposed, true);
    const g = defer().group();
    g.defer(() => new Promise((resolve) => setTimeout(resolve, 20)));
    assert.equal(await g.disposeAsync(new Server() as never), undefined);
  });

  it("takes options from an object without a prototype too", async () => {
    const options = Object.assign(Object.create(null), { timeout: 10 });
    const d = defer();
    d.defer(never);
    const e = await rejected(d.disposeAsync(options));
    assert.ok(e instanceof DisposeTimeoutError);
  });

  it("resolves on a disposed stack even when the options are bad, as without options", async () => {
    const d = defer();
    d.dispose();
    assert.equal(await d.disposeAsync({ timeout: -5 }), undefined);
    assert.equal(await d.disposeAsync({ signal: {} as never }), undefined);
  });

  it("keeps disposeAsync.length at 0, as on the built-in", () => {
    assert.equal(defer().disposeAsync.length, 0);
  });
});

describe("disposeAsync({ signal })", () => {
  it("stops waiting when the signal aborts, with the reason as cause", async () => {
    const controller = new AbortController();
    const d = defer();
    d.defer(function notYet() {});
    d.defer(function hang() {
      return never();
    });
    const p = d.disposeAsync({ signal: controller.signal });
    const reason = new Error("shutting down");
    setTimeout(() => controller.abort(reason), 10);
    const e = await rejected(p);
    assert.ok(e instanceof DisposeTimeoutError);
    assert.equal(e.reason, "abort");
    assert.equal(e.cause, reason);
    assert.deepEqual([e.running, e.notStarted], [["hang"], ["notYet"]]);
  });

  it("runs nothing under an already aborted signal and names every entry", async () => {
    const log: string[] = [];
    const d = defer();
    const h = d.defer(function a() {
      log.push("a");
    });
    d.onFailure(function rollback() {});
    d.onFailure(function committed() {});
    d.commit();
    d.adopt(1, () => {});
    d.defer(() => {}).release();
    const e = await rejected(
      d.disposeAsync({ signal: AbortSignal.abort() }),
    );
    assert.ok(e instanceof DisposeTimeoutError);
    assert.deepEqual(e.running, []);
    assert.deepEqual(e.notStarted, ["anonymous", "a"]);
    assert.deepEqual(log, []);
    assert.equal(h.pending, false);
    assert.equal(d.disposed, true);
  });

  it("keeps the error of a cleanup whose result's then getter aborts and then throws", async () => {
    const ac = new AbortController();
    const d = defer();
    d.defer(function notReached() {});
    const getterError = new Error("then getter");
    d.defer(function abortsInThen() {
      return {
        get then(): never {
          ac.abort();
          throw getterError;
        },
      };
    });
    const e = await rejected(d.disposeAsync({ signal: ac.signal }));
    assert.ok(e instanceof SuppressedError);
    assert.equal(e.suppressed, getterError);
    assert.ok(e.error instanceof DisposeTimeoutError);
    assert.deepEqual(e.error.running, ["abortsInThen"]);
    assert.deepEqual(e.error.notStarted, ["notReached"]);
  });

  it("reads the then of a cleanup's result once under a deadline, as await does", async () => {
    let reads = 0;
    const d = defer();
    d.defer(() => ({
      get then() {
        reads++;
        return (resolve: () => void) => resolve();
      },
    }));
    await d.disposeAsync({ timeout: 1_000 });
    assert.equal(reads, 1);
  });

  it("takes a native promise as await does, never calling a then of its own", async () => {
    const p = Promise.resolve();
    Object.assign(p, { then: () => undefined }); // never calls back
    const d = defer();
    d.defer(() => p);
    await within(2_000, d.disposeAsync({ timeout: 60_000 }));
  });

  it("fails a cleanup whose promise's constructor getter throws, as await does", async () => {
    const getterError = new Error("constructor getter");
    const broken = (): Promise<void> => {
      const p = Promise.resolve();
      Object.defineProperty(p, "constructor", {
        get(): never {
          throw getterError;
        },
      });
      return p;
    };
    const plain = defer();
    plain.defer(broken);
    assert.equal(await rejected(plain.disposeAsync()), getterError);
    const limited = defer();
    limited.defer(broken);
    const e = await rejected(limited.disposeAsync({ timeout: 60_000 }));
    assert.equal(e, getterError);
  });

  it("calls a thenable's then a turn later, as await does", async () => {
    const order = async (options?: { timeout: number }): Promise<string[]> => {
      const log: string[] = [];
      const d = defer();
      d.defer(() => {
        queueMicrotask(() => log.push("microtask"));
        return {
          then(resolve: () => void) {
            log.push("then");
            resolve();
          },
        };
      });
      await d.disposeAsync(options);
      return log;
    };
    assert.deepEqual(await order({ timeout: 60_000 }), await order());
  });

  it("keeps the error of an async cleanup that aborts and then throws", async () => {
    const ac = new AbortController();
    const d = defer();
    const thrown = new Error("after the abort");
    d.defer(async function abortsThenRejects() {
      ac.abort();
      throw thrown;
    });
    const e = await rejected(d.disposeAsync({ signal: ac.signal }));
    assert.ok(e instanceof SuppressedError);
    assert.equal(e.suppressed, thrown);
    assert.ok(e.error instanceof DisposeTimeoutError);
  });

  it("names no cleanup as running once its promise has settled, keeping its error", async () => {
    const ac = new AbortController();
    const d = defer();
    const failure = new Error("close failed");
    d.defer(function close() {
      return Promise.reject(failure);
    });
    // Two turns later: after the rejection reached the loop, before the
    // loop went on.
    void Promise.resolve().then(() => {}).then(() => ac.abort());
    const e = await rejected(d.disposeAsync({ signal: ac.signal }));
    assert.ok(e instanceof SuppressedError);
    assert.equal(e.suppressed, failure);
    assert.ok(e.error instanceof DisposeTimeoutError);
    assert.deepEqual(e.error.running, []);
    assert.match(e.error.message, /no cleanup was running/);
  });

  it("names no cleanup as running when its promise settled in the same task as the abort, keeping its error", async () => {
    const ac = new AbortController();
    const d = defer();
    const failure = new Error("close failed");
    let fail = (_: Error): void => {};
    d.defer(function close() {
      return new Promise((_, reject) => (fail = reject));
    });
    setTimeout(() => {
      fail(failure);
      ac.abort();
    }, 10);
    const e = await rejected(d.disposeAsync({ signal: ac.signal }));
    assert.ok(e instanceof SuppressedError);
    assert.equal(e.suppressed, failure);
    assert.deepEqual((e.error as DisposeTimeoutError).running, []);
  });

  it("names no cleanup as running when it returned a plain object and the abort came from a microtask it queued", async () => {
    const ac = new AbortController();
    const d = defer();
    d.defer(function older() {});
    d.defer(function closeServer() {
      queueMicrotask(() => ac.abort());
      return new Map(); // not a thenable: done when the call returned
    });
    const e = await rejected(d.disposeAsync({ signal: ac.signal }));
    assert.ok(e instanceof DisposeTimeoutError);
    assert.deepEqual(e.running, []);
    assert.deepEqual(e.notStarted, ["older"]);
  });

  it("names a cleanup whose promise was still pending at the abort, and ignores its outcome", async () => {
    const ac = new AbortController();
    const d = defer();
    let fail = (_: Error): void => {};
    d.defer(function close() {
      return new Promise((_, reject) => (fail = reject));
    });
    void Promise.resolve().then(() => ac.abort());
    const e = await rejected(d.disposeAsync({ signal: ac.signal }));
    fail(new Error("too late"));
    assert.ok(e instanceof DisposeTimeoutError);
    assert.deepEqual(e.running, ["close"]);
  });

  it("resolves at once on a disposed stack", async () => {
    const d = defer();
    d.dispose();
    await d.disposeAsync({ signal: AbortSignal.abort() });
  });

  it("stops on an abort whose reason cannot even be read, keeping that reason as the cause", async () => {
    const { proxy, revoke } = Proxy.revocable({}, {});
    revoke(); // any operation on it throws, instanceof included
    const ac = new AbortController();
    const d = defer();
    d.defer(function older() {});
    d.defer(function slow() {
      return never();
    });
    const disposal = d.disposeAsync({ signal: ac.signal });
    ac.abort(proxy);
    const e = await rejected(disposal);
    assert.ok(e instanceof DisposeTimeoutError);
    assert.equal(e.cause, proxy);
    assert.deepEqual(e.running, ["slow"]);
    assert.deepEqual(e.notStarted, ["older"]);
  });

  it("stops at once, naming every entry, when a signal-like object throws as it is watched", async () => {
    const log: string[] = [];
    const d = defer();
    d.defer(function a() {
      log.push("a");
    });
    d.defer(function b() {
      log.push("b");
    });
    const broken = new Error("cannot listen");
    const signal = {
      aborted: false,
      addEventListener() {
        throw broken;
      },
      removeEventListener() {
        throw new Error("cannot unlisten either");
      },
    } as unknown as AbortSignal;
    const e = await rejected(d.disposeAsync({ signal }));
    assert.ok(e instanceof DisposeTimeoutError);
    assert.equal(e.reason, "abort");
    assert.equal(e.cause, broken);
    assert.deepEqual(e.notStarted, ["b", "a"]);
    assert.deepEqual(log, []);
    assert.equal(d.disposed, true);
  });
});

describe("naming entries", () => {
  it("names every member never started when a deadline stops a group of 200,000", async () => {
    const d = defer();
    const g = d.group({ limit: 1 });
    for (let i = 0; i < 200_000; i++) g.defer(never);
    const e = await rejected(d.disposeAsync({ timeout: 10 }));
    assert.ok(e instanceof DisposeTimeoutError);
    assert.deepEqual(e.running, ["never"]);
    assert.equal(e.notStarted.length, 199_999);
  });

  it("names the entry dispose() could not await in its TypeError", () => {
    const d = defer();
    d.defer(async function flushTelemetry() {});
    d.use(
      new (class Pool {
        async [Symbol.asyncDispose](): Promise<void> {}
      })(),
    );
    const e = thrown(() => d.dispose());
    assert.ok(e instanceof SuppressedError);
    assert.match((e.error as Error).message, /"flushTelemetry"/);
    assert.match((e.suppressed as Error).message, /"Pool"/);
  });
});
