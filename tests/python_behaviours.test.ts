// The eight behaviours the original Python `cleanup` package tests, written
// without `using` syntax so they also run on Node 22.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { defer } from "../mod.ts";

describe("behaviours carried over from the Python cleanup package", () => {
  it("runs a deferred cleanup exactly once when the scope exits", () => {
    let calls = 0;
    const d = defer();
    try {
      d.defer(() => calls++);
      assert.equal(calls, 0);
    } finally {
      d.dispose();
    }
    d.dispose();
    assert.equal(calls, 1);
  });

  it("runs cleanups when the block throws and lets the error propagate", () => {
    const log: string[] = [];
    const body = () => {
      const d = defer();
      try {
        d.defer(() => log.push("cleanup"));
        throw new Error("body failed");
      } finally {
        d.dispose();
      }
    };
    assert.throws(body, { message: "body failed" });
    assert.deepEqual(log, ["cleanup"]);
  });

  it("runs cleanups in reverse order of registration", () => {
    const log: number[] = [];
    const d = defer();
    for (let i = 0; i < 5; i++) d.defer((n: number) => log.push(n), i);
    d.dispose();
    assert.deepEqual(log, [4, 3, 2, 1, 0]);
  });

  it("runs an inner stack's cleanups before the outer stack's", () => {
    const log: string[] = [];
    const outer = defer();
    outer.defer(() => log.push("outer"));
    const inner = outer.use(defer());
    inner.defer(() => log.push("inner"));
    outer.defer(() => log.push("outer, registered last"));
    outer.dispose();
    assert.deepEqual(log, ["outer, registered last", "inner", "outer"]);
    assert.equal(inner.disposed, true);
  });

  it("runs an entry early at most once, and not again at exit", () => {
    let calls = 0;
    const d = defer();
    const handle = d.defer(() => ++calls);
    assert.equal(handle.dispose(), 1);
    assert.equal(handle.dispose(), undefined);
    d.dispose();
    assert.equal(calls, 1);
  });

  it("never runs a released entry", () => {
    const log: string[] = [];
    const d = defer();
    d.defer(() => log.push("kept"));
    const handle = d.defer(() => log.push("released"));
    handle.release();
    d.dispose();
    assert.deepEqual(log, ["kept"]);
  });

  it("runs nothing at exit after every entry was released", () => {
    const log: string[] = [];
    const d = defer();
    d.defer(() => log.push("a"));
    d.defer(() => log.push("b"));
    d.release();
    d.dispose();
    assert.deepEqual(log, []);
  });

  it("passes the arguments bound at registration", () => {
    const seen: unknown[][] = [];
    const d = defer();
    const obj = { id: 1 };
    d.defer((...args: unknown[]) => seen.push(args), 1, "two", obj);
    obj.id = 2; // the object is bound, not a copy of it
    d.dispose();
    assert.equal(seen.length, 1);
    assert.deepEqual(seen[0], [1, "two", obj]);
    assert.equal(seen[0][2], obj);
  });
});
