// scope(): the using block as a function. Portable: runs on Node 22 too.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { DeferStack, scope, SuppressedError } from "../mod.ts";
import { chain, rejected, thrown } from "./helpers.ts";

describe("scope() with a synchronous body", () => {
  it("returns what the body returns and then runs the cleanups", () => {
    const log: string[] = [];
    const result = scope((d) => {
      d.defer(() => log.push("cleanup"));
      log.push("body");
      return 42;
    });
    assert.equal(result, 42);
    assert.deepEqual(log, ["body", "cleanup"]);
  });

  it("hands the body a fresh DeferStack that is disposed afterwards", () => {
    let seen: DeferStack | undefined;
    scope((d) => {
      seen = d;
      assert.equal(d.disposed, false);
    });
    assert.ok(seen instanceof DeferStack);
    assert.equal(seen.disposed, true);
  });

  it("runs the cleanups when the body throws and rethrows the same error", () => {
    const log: string[] = [];
    const error = new Error("body failed");
    const e = thrown(() =>
      scope((d) => {
        d.defer(() => log.push("cleanup"));
        throw error;
      })
    );
    assert.equal(e, error);
    assert.deepEqual(log, ["cleanup"]);
  });

  it("nests a cleanup error over the body error as SuppressedError(cleanup, body)", () => {
    const e = thrown(() =>
      scope((d) => {
        d.defer(() => {
          throw new Error("cleanup");
        });
        throw new Error("body");
      })
    );
    assert.ok(e instanceof SuppressedError);
    assert.deepEqual(chain(e), { error: "cleanup", suppressed: "body" });
  });

  it("throws a cleanup error of a successful body as itself", () => {
    const e = thrown(() =>
      scope((d) => {
        d.defer(() => {
          throw new RangeError("cleanup only");
        });
        return 1;
      })
    );
    assert.ok(e instanceof RangeError);
  });

  it("is typed as the body's return type, a promise for an async body", async () => {
    // These annotations are checked by `deno check`: scope() must not widen.
    const sync: number = scope(() => 1);
    const async: Promise<number> = scope(async () => 2);
    assert.equal(sync, 1);
    assert.equal(await async, 2);
  });

  it("returns a stack the body moved, with its cleanups still pending", () => {
    const log: string[] = [];
    const owner = scope((d) => {
      d.defer(() => log.push("closed"));
      return d.move();
    });
    assert.ok(owner instanceof DeferStack);
    assert.equal(owner.disposed, false);
    assert.deepEqual(log, []);
    owner.dispose();
    assert.deepEqual(log, ["closed"]);
  });

  it("returns what the body returned when the body disposed the stack itself", () => {
    const log: string[] = [];
    const result = scope((d) => {
      d.defer(() => log.push("closed"));
      d.dispose();
      return 7;
    });
    assert.equal(result, 7);
    assert.deepEqual(log, ["closed"]);
  });

  it("disposes, then throws the error of a then getter on the body's result", () => {
    const log: string[] = [];
    const getterError = new Error("then getter");
    const e = thrown(() =>
      scope((d) => {
        d.defer(() => log.push("cleanup"));
        return {
          get then(): never {
            log.push("then read");
            throw getterError;
          },
        };
      })
    );
    assert.equal(e, getterError);
    assert.deepEqual(log, ["then read", "cleanup"]);
  });

  it("reads the then of a thenable result once, and awaits it", async () => {
    const log: string[] = [];
    const pending = scope((d) => {
      d.defer(() => log.push("cleanup"));
      return {
        get then() {
          log.push("then read");
          return (resolve: (value: number) => void) => resolve(5);
        },
      };
    });
    assert.equal(await pending, 5);
    assert.deepEqual(log, ["then read", "cleanup"]);
  });

  it("awaits a native promise as await does, whatever its own then says", async () => {
    const log: string[] = [];
    const throwingThen = Promise.resolve(5);
    Object.defineProperty(throwingThen, "then", {
      get(): never {
        throw new Error("then getter");
      },
    });
    assert.equal(await scope(() => throwingThen), 5);
    const noThen = Promise.resolve(6);
    Object.defineProperty(noThen, "then", { value: undefined });
    const six = scope((d) => {
      d.defer(async () => void log.push("async cleanup awaited"));
      return noThen;
    });
    assert.equal(await six, 6);
    assert.deepEqual(log, ["async cleanup awaited"]);
  });

  it("throws a TypeError at the call when body is not a function", () => {
    assert.throws(() => scope(42 as unknown as () => void), TypeError);
  });
});

describe("scope() with an async body", () => {
  it("returns a promise of the body's value, after the cleanups ran", async () => {
    const log: string[] = [];
    const pending = scope(async (d) => {
      d.defer(async () => {
        await null;
        log.push("async cleanup");
      });
      await null;
      log.push("body");
      return "value";
    });
    assert.ok(pending instanceof Promise);
    assert.equal(await pending, "value");
    assert.deepEqual(log, ["body", "async cleanup"]);
  });

  it("disposes only after the body's promise settles", async () => {
    const log: string[] = [];
    let finish!: () => void;
    const pending = scope((d) => {
      d.defer(() => log.push("cleanup"));
      return new Promise<void>((resolve) => (finish = resolve));
    });
    await null;
    assert.deepEqual(log, []);
    finish();
    await pending;
    assert.deepEqual(log, ["cleanup"]);
  });

  it("rejects with the body's rejection after running the cleanups", async () => {
    const log: string[] = [];
    const error = new Error("async body failed");
    const e = await rejected(scope(async (d) => {
      d.defer(() => log.push("cleanup"));
      await null;
      throw error;
    }));
    assert.equal(e, error);
    assert.deepEqual(log, ["cleanup"]);
  });

  it("nests a cleanup rejection over the body's as SuppressedError(cleanup, body)", async () => {
    const e = await rejected(scope(async (d) => {
      d.defer(() => Promise.reject(new Error("cleanup")));
      await null;
      throw new Error("body");
    }));
    assert.deepEqual(chain(e), { error: "cleanup", suppressed: "body" });
  });
});

describe("scope() with an async body that hands its stack on", () => {
  it("resolves to a stack the body moved, with its cleanups still pending", async () => {
    const log: string[] = [];
    const owner = await scope(async (d) => {
      d.defer(() => log.push("closed"));
      await null;
      return d.move();
    });
    assert.equal(owner.disposed, false);
    assert.deepEqual(log, []);
    await owner.disposeAsync();
    assert.deepEqual(log, ["closed"]);
  });

  it("resolves to the body's value when the body disposed the stack itself", async () => {
    const log: string[] = [];
    const value = await scope(async (d) => {
      d.defer(() => log.push("closed"));
      await d.disposeAsync();
      return "done";
    });
    assert.equal(value, "done");
    assert.deepEqual(log, ["closed"]);
  });
});

describe("scope() and failure-only cleanups", () => {
  it("releases them when the body succeeds", () => {
    const log: string[] = [];
    scope((d) => {
      d.defer(() => log.push("always"));
      d.onFailure(() => log.push("on failure"));
    });
    assert.deepEqual(log, ["always"]);
  });

  it("runs them, in order with the others, when the body throws", () => {
    const log: string[] = [];
    assert.throws(() =>
      scope((d) => {
        d.defer(() => log.push("registered first"));
        d.onFailure(() => log.push("on failure"));
        d.defer(() => log.push("registered last"));
        throw new Error("x");
      })
    );
    assert.deepEqual(log, [
      "registered last",
      "on failure",
      "registered first",
    ]);
  });

  it("runs them when an async body rejects and releases them when it resolves", async () => {
    const log: string[] = [];
    await scope(async (d) => {
      d.onFailure(() => log.push("rollback 1"));
    });
    await rejected(scope(async (d) => {
      d.onFailure(() => log.push("rollback 2"));
      throw new Error("x");
    }));
    assert.deepEqual(log, ["rollback 2"]);
  });
});
