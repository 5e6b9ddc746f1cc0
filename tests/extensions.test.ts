// What DeferStack adds to the standard: handles, release(), size.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { defer } from "../mod.ts";
import { thrown } from "./helpers.ts";

describe("DeferHandle", () => {
  it("is pending from registration until its entry runs at disposal", () => {
    const d = defer();
    const handle = d.defer(() => {});
    assert.equal(handle.pending, true);
    d.dispose();
    assert.equal(handle.pending, false);
  });

  it("reports not pending while its own cleanup runs", () => {
    const d = defer();
    let seen: boolean | undefined;
    const handle = d.defer(() => {
      seen = handle.pending;
    });
    d.dispose();
    assert.equal(seen, false);
  });

  it("release() returns true once, then false", () => {
    const d = defer();
    const handle = d.defer(() => {});
    assert.equal(handle.release(), true);
    assert.equal(handle.pending, false);
    assert.equal(handle.release(), false);
  });

  it("release() after the entry ran returns false", () => {
    const d = defer();
    const handle = d.defer(() => {});
    d.dispose();
    assert.equal(handle.release(), false);
  });

  it("dispose() returns the cleanup's return value", () => {
    const d = defer();
    const handle = d.defer((a: number, b: number) => a + b, 2, 3);
    assert.equal(handle.dispose(), 5);
  });

  it("dispose() passes a throw to the caller and never runs the entry again", () => {
    let calls = 0;
    const d = defer();
    const handle = d.defer(() => {
      calls++;
      throw new Error("early failure");
    });
    assert.throws(() => handle.dispose(), { message: "early failure" });
    assert.equal(handle.pending, false);
    d.dispose();
    assert.equal(calls, 1);
  });

  it("dispose() returns an async cleanup's promise for the caller to await", async () => {
    const d = defer();
    const handle = d.defer(async () => "done");
    const result = handle.dispose();
    assert.ok(result instanceof Promise);
    assert.equal(await result, "done");
  });

  it("follows its entry through move()", () => {
    const log: string[] = [];
    const d = defer();
    const released = d.defer(() => log.push("released"));
    const early = d.defer(() => log.push("early"));
    d.defer(() => log.push("at exit"));
    const moved = d.move();
    assert.equal(released.pending, true);
    assert.equal(released.release(), true);
    early.dispose();
    assert.equal(moved.size, 1);
    moved.dispose();
    assert.deepEqual(log, ["early", "at exit"]);
  });

  it("can release an entry not yet reached while the stack is unwinding", () => {
    const log: string[] = [];
    const d = defer();
    const later = d.defer(() => log.push("later"));
    d.defer(() => log.push("bottom-most ran"));
    d.defer(() => {
      log.push("top");
      assert.equal(later.release(), true);
    });
    d.dispose();
    assert.deepEqual(log, ["top", "bottom-most ran"]);
  });

  it("can run an entry not yet reached from another cleanup, once", () => {
    const log: string[] = [];
    const d = defer();
    const later = d.defer(() => log.push("later"));
    d.defer(() => {
      later.dispose();
      log.push("top");
    });
    d.dispose();
    assert.deepEqual(log, ["later", "top"]);
  });

  it("can release an entry not yet reached during disposeAsync()", async () => {
    const log: string[] = [];
    const d = defer();
    const later = d.defer(() => log.push("later"));
    d.defer(async () => {
      await null;
      later.release();
      log.push("top");
    });
    await d.disposeAsync();
    assert.deepEqual(log, ["top"]);
  });
});

describe("defer(fn, ...args)", () => {
  it("binds each loop iteration's value at registration", () => {
    const log: number[] = [];
    const d = defer();
    // A `var` loop variable is shared by every closure; bound args are not.
    // deno-lint-ignore no-var no-inner-declarations
    for (var i = 0; i < 3; i++) d.defer((n: number) => log.push(n), i);
    d.dispose();
    assert.deepEqual(log, [2, 1, 0]);
  });

  it("passes undefined arguments through unchanged", () => {
    const seen: unknown[][] = [];
    const d = defer();
    d.defer((...args: unknown[]) => seen.push(args), undefined, null);
    d.dispose();
    assert.deepEqual(seen, [[undefined, null]]);
  });
});

describe("release()", () => {
  it("drops every pending entry so none runs", () => {
    const log: string[] = [];
    const d = defer();
    d.use({ [Symbol.dispose]: () => log.push("use") });
    d.adopt(1, () => log.push("adopt"));
    d.defer(() => log.push("defer"));
    d.release();
    d.dispose();
    assert.deepEqual(log, []);
  });

  it("returns how many entries it dropped", () => {
    const d = defer();
    d.defer(() => {});
    d.defer(() => {});
    d.use(null);
    assert.equal(d.release(), 2);
    assert.equal(d.release(), 0);
  });

  it("makes every handle say it is no longer pending", () => {
    const d = defer();
    const a = d.defer(() => {});
    const b = d.defer(() => {});
    d.release();
    assert.deepEqual([a.pending, b.pending], [false, false]);
    assert.equal(a.dispose(), undefined);
  });

  it("keeps the stack open for new entries", () => {
    const log: string[] = [];
    const d = defer();
    d.defer(() => log.push("dropped"));
    d.release();
    assert.equal(d.disposed, false);
    d.defer(() => log.push("added after"));
    d.dispose();
    assert.deepEqual(log, ["added after"]);
  });

  it("throws a ReferenceError on a disposed stack", () => {
    const d = defer();
    d.dispose();
    assert.throws(() => d.release(), ReferenceError);
  });
});

describe("size", () => {
  it("counts pending entries of every kind", () => {
    const d = defer();
    d.use({ [Symbol.dispose]() {} });
    d.use({ async [Symbol.asyncDispose]() {} });
    d.adopt(1, () => {});
    d.defer(() => {});
    assert.equal(d.size, 4);
  });

  it("drops by one for each released or early-run entry", () => {
    const d = defer();
    const a = d.defer(() => {});
    const b = d.defer(() => {});
    d.defer(() => {});
    a.release();
    assert.equal(d.size, 2);
    b.dispose();
    assert.equal(d.size, 1);
  });

  it("is 0 once the stack is disposed", () => {
    const d = defer();
    d.defer(() => {});
    d.dispose();
    assert.equal(d.size, 0);
  });
});

describe("many entries released below the top", () => {
  it("keep the survivors' order and handles intact", () => {
    const log: number[] = [];
    const d = defer();
    const handles = [];
    for (let i = 0; i < 1000; i++) {
      handles.push(d.defer((n: number) => log.push(n), i));
    }
    for (let i = 0; i < 1000; i += 2) handles[i].release();
    assert.equal(d.size, 500);
    // Survivors' handles still work after the storage was compacted.
    assert.equal(handles[999].release(), true);
    assert.equal(handles[1].dispose(), 1);
    d.dispose();
    const expected = [];
    for (let i = 997; i >= 3; i -= 2) expected.push(i);
    assert.deepEqual(log, [1, ...expected]);
  });

  it("are skipped wherever they sit when released in any order", () => {
    const log: number[] = [];
    const d = defer();
    const handles = [];
    for (let i = 0; i < 300; i++) {
      handles.push(d.defer((n: number) => log.push(n), i));
    }
    // Release from the top down, then from the bottom up, then the middle.
    for (let i = 299; i >= 250; i--) handles[i].release();
    for (let i = 0; i < 100; i++) handles[i].release();
    for (let i = 150; i < 200; i++) handles[i].release();
    d.defer(() => log.push(-1));
    d.dispose();
    const expected = [-1];
    for (let i = 249; i >= 200; i--) expected.push(i);
    for (let i = 149; i >= 100; i--) expected.push(i);
    assert.deepEqual(log, expected);
  });
});

describe("registration errors", () => {
  it("name the method and the bad value", () => {
    const d = defer();
    const e = thrown(() => d.defer(42 as unknown as () => void)) as Error;
    assert.ok(e instanceof TypeError);
    assert.match(e.message, /defer\(\).*number 42/);
  });
});
