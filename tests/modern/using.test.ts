// defer() under the `using` and `await using` syntax, and typed as the
// standard stacks. Needs the syntax, so Node 22 does not run this file.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { defer, type DeferStack, SuppressedError } from "../../mod.ts";
import { chain, rejected, resource, thrown } from "../helpers.ts";

describe("using h = d.defer(...)", () => {
  it("runs that one entry early when the block ends", () => {
    const log: string[] = [];
    const d = defer();
    d.defer(() => log.push("at disposal"));
    {
      using _h = d.defer(() => log.push("at block end"));
      log.push("body");
    }
    d.dispose();
    assert.deepEqual(log, ["body", "at block end", "at disposal"]);
  });

  it("awaits an async entry under await using", async () => {
    const log: string[] = [];
    const d = defer();
    {
      await using _h = d.defer(async () => {
        await null;
        log.push("flushed");
      });
    }
    log.push("after the block");
    assert.deepEqual(log, ["flushed", "after the block"]);
    assert.equal(d.size, 0);
  });
});

describe("using d = defer()", () => {
  it("runs the cleanups in reverse order when the block ends", () => {
    const log: string[] = [];
    {
      using d = defer();
      d.use(resource(log, "a"));
      d.defer(() => log.push("b"));
      log.push("body");
    }
    assert.deepEqual(log, ["body", "b", "a"]);
  });

  it("wraps a body error as SuppressedError(cleanup error, body error)", () => {
    const e = thrown(() => {
      using d = defer();
      d.defer(() => {
        throw new Error("cleanup");
      });
      throw new Error("body");
    });
    assert.ok(e instanceof SuppressedError);
    assert.deepEqual(chain(e), { error: "cleanup", suppressed: "body" });
  });

  it("wraps the stack's own error chain around the body error, as the built-in does", () => {
    const run = (make: () => Disposable & { defer(f: () => void): unknown }) =>
      thrown(() => {
        using d = make();
        d.defer(() => {
          throw new Error("c1");
        });
        d.defer(() => {
          throw new Error("c2");
        });
        throw new Error("body");
      });
    const ours = chain(run(() => defer()));
    assert.deepEqual(ours, {
      error: { error: "c1", suppressed: "c2" },
      suppressed: "body",
    });
    assert.deepEqual(ours, chain(run(() => new DisposableStack())));
  });

  it("runs nothing at block exit after release() on success", () => {
    const log: string[] = [];
    const open = (fail: boolean) => {
      using d = defer();
      d.defer(() => log.push("close a"));
      d.defer(() => log.push("close b"));
      if (fail) throw new Error("failed");
      d.release();
      return "kept";
    };
    assert.equal(open(false), "kept");
    assert.deepEqual(log, []);
    assert.throws(() => open(true), { message: "failed" });
    assert.deepEqual(log, ["close b", "close a"]);
  });

  it("lets move() hand the cleanups out of the block", () => {
    const log: string[] = [];
    const acquire = (): DeferStack => {
      using d = defer();
      d.defer(() => log.push("closed"));
      return d.move();
    };
    const owner = acquire();
    assert.deepEqual(log, []);
    owner.dispose();
    assert.deepEqual(log, ["closed"]);
  });
});

describe("await using d = defer()", () => {
  it("awaits async cleanups in reverse order", async () => {
    const log: string[] = [];
    {
      await using d = defer();
      d.defer(async () => {
        await null;
        log.push("first registered");
      });
      d.use({
        async [Symbol.asyncDispose]() {
          await null;
          log.push("async resource");
        },
      });
      d.defer(() => log.push("sync cleanup"));
    }
    assert.deepEqual(log, [
      "sync cleanup",
      "async resource",
      "first registered",
    ]);
  });

  it("rejects with SuppressedError(cleanup error, body error)", async () => {
    const run = async () => {
      await using d = defer();
      d.defer(() => Promise.reject(new Error("cleanup")));
      throw new Error("body");
    };
    assert.deepEqual(chain(await rejected(run())), {
      error: "cleanup",
      suppressed: "body",
    });
  });
});

describe("defer() typed as a standard stack", () => {
  it("works through the DisposableStack type", () => {
    const log: string[] = [];
    const s: DisposableStack = defer();
    s.defer(() => log.push("deferred"));
    s.adopt("adopted", (v) => log.push(v));
    const moved: DisposableStack = s.move();
    moved.dispose();
    assert.deepEqual(log, ["adopted", "deferred"]);
  });

  it("works through the AsyncDisposableStack type", async () => {
    const log: string[] = [];
    const a: AsyncDisposableStack = defer();
    a.defer(async () => {
      await null;
      log.push("deferred");
    });
    a.use({
      [Symbol.asyncDispose]: async () => {
        log.push("used");
      },
    });
    await a.disposeAsync();
    assert.deepEqual(log, ["used", "deferred"]);
  });
});
