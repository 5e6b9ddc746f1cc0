// onFailure() and commit(): failure-only cleanups under dispose().
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { defer } from "../mod.ts";

describe("onFailure()", () => {
  it("runs at disposal when commit() was not called", () => {
    const log: string[] = [];
    const d = defer();
    d.onFailure(() => log.push("rollback"));
    d.dispose();
    assert.deepEqual(log, ["rollback"]);
  });

  it("never runs once commit() was called, while other entries still do", () => {
    const log: string[] = [];
    const d = defer();
    d.defer(() => log.push("close"));
    d.onFailure(() => log.push("rollback"));
    d.commit();
    d.dispose();
    assert.deepEqual(log, ["close"]);
  });

  it("runs in the same LIFO order as the other entries", () => {
    const log: string[] = [];
    const d = defer();
    d.defer(() => log.push("1"));
    d.onFailure(() => log.push("2"));
    d.defer(() => log.push("3"));
    d.onFailure(() => log.push("4"));
    d.dispose();
    assert.deepEqual(log, ["4", "3", "2", "1"]);
  });

  it("binds its arguments at registration", () => {
    const seen: unknown[][] = [];
    const d = defer();
    d.onFailure((...args: unknown[]) => seen.push(args));
    d.onFailure((...args: unknown[]) => seen.push(args), "one");
    d.onFailure((...args: unknown[]) => seen.push(args), 1, 2, 3);
    d.dispose();
    assert.deepEqual(seen, [[1, 2, 3], ["one"], []]);
  });

  it("is awaited under disposeAsync()", async () => {
    const log: string[] = [];
    const d = defer();
    d.defer(() => log.push("after"));
    d.onFailure(async () => {
      await null;
      log.push("async rollback");
    });
    await d.disposeAsync();
    assert.deepEqual(log, ["async rollback", "after"]);
  });

  it("returns a handle that can release the entry or run it early", () => {
    const log: string[] = [];
    const d = defer();
    const released = d.onFailure(() => log.push("released"));
    const early = d.onFailure((x: string) => log.push(x), "early");
    assert.equal(released.release(), true);
    assert.equal(early.dispose(), 1);
    assert.equal(early.pending, false);
    d.dispose();
    assert.deepEqual(log, ["early"]);
  });

  it("throws a TypeError for a non-function and a ReferenceError on a disposed stack", () => {
    const d = defer();
    assert.throws(() => d.onFailure(1 as unknown as () => void), TypeError);
    d.dispose();
    assert.throws(() => d.onFailure(() => {}), ReferenceError);
  });
});

describe("commit()", () => {
  it("returns how many failure-only entries it released and updates size", () => {
    const d = defer();
    d.onFailure(() => {});
    d.onFailure(() => {});
    d.defer(() => {});
    assert.equal(d.size, 3);
    assert.equal(d.commit(), 2);
    assert.equal(d.size, 1);
    assert.equal(d.commit(), 0);
  });

  it("makes the released entries' handles say they are not pending", () => {
    const d = defer();
    const h = d.onFailure(() => {});
    d.commit();
    assert.equal(h.pending, false);
    assert.equal(h.release(), false);
    assert.equal(h.dispose(), undefined);
  });

  it("leaves failure-only entries added afterwards pending", () => {
    const log: string[] = [];
    const d = defer();
    d.onFailure(() => log.push("before commit"));
    d.commit();
    const later = d.onFailure(() => log.push("after commit"));
    assert.equal(later.pending, true);
    d.dispose();
    assert.deepEqual(log, ["after commit"]);
  });

  it("keeps old handles done when new entries take their slots", () => {
    const log: string[] = [];
    const d = defer();
    const old = d.onFailure(() => log.push("old"));
    d.commit(); // the committed entry was on top: its slots are freed
    const fresh = d.defer(() => log.push("fresh"));
    assert.equal(old.pending, false);
    assert.equal(old.release(), false);
    assert.equal(fresh.pending, true);
    d.dispose();
    assert.deepEqual(log, ["fresh"]);
  });

  it("follows the entries through move()", () => {
    const log: string[] = [];
    const d = defer();
    d.onFailure(() => log.push("rollback"));
    const moved = d.move();
    moved.commit();
    moved.dispose();
    assert.deepEqual(log, []);
  });

  it("throws a ReferenceError on a disposed stack", () => {
    const d = defer();
    d.dispose();
    assert.throws(() => d.commit(), ReferenceError);
  });
});
