// How entries are stored: slots reused after a release, memory that stays
// bounded under churn, and stacks of a million entries. Needs a way to force
// garbage collection: --expose-gc (Node, Deno's --v8-flags) or Bun.gc.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import process from "node:process";
import { defer, type DeferHandle } from "../mod.ts";
import { forceGc, rejected } from "./helpers.ts";

/**
 * How much the heap grows over a million calls of `cycle`, measured after a
 * warm-up, so code and caches are not counted.
 */
async function growthOverAMillion(cycle: () => void): Promise<number> {
  for (let i = 0; i < 10_000; i++) cycle();
  const before = await settledHeap();
  for (let i = 0; i < 1_000_000; i++) cycle();
  return await settledHeap() - before;
}

/** Heap in use after a full collection, in bytes. */
async function settledHeap(): Promise<number> {
  await new Promise((resolve) => setTimeout(resolve, 0));
  forceGc();
  return process.memoryUsage().heapUsed;
}

describe("handles whose slot was reused", () => {
  it("stay released when a new entry takes the slot of a released top entry", () => {
    const log: string[] = [];
    const d = defer();
    const old = d.defer(() => log.push("old"));
    old.release();
    const fresh = d.defer(() => log.push("fresh"));
    assert.equal(old.pending, false);
    assert.equal(old.release(), false);
    assert.equal(old.dispose(), undefined);
    assert.equal(fresh.pending, true);
    d.dispose();
    assert.deepEqual(log, ["fresh"]);
  });

  it("stay released after release() of the whole stack and new entries", () => {
    const log: string[] = [];
    const d = defer();
    const old = d.defer((x: string) => log.push(x), "old");
    d.release();
    d.defer((x: string) => log.push(x), "fresh");
    assert.equal(old.pending, false);
    assert.equal(old.dispose(), undefined);
    d.dispose();
    assert.deepEqual(log, ["fresh"]);
  });

  it("release entries with bound arguments at the top and below it", () => {
    const log: string[] = [];
    const d = defer();
    const below = d.defer((a: string, b: string) => log.push(a + b), "x", "y");
    d.defer((a: string) => log.push(a), "kept");
    const top = d.defer((a: string) => log.push(a), "top");
    assert.equal(top.release(), true);
    assert.equal(below.release(), true);
    d.defer(() => log.push("new top"));
    d.dispose();
    assert.deepEqual(log, ["new top", "kept"]);
  });

  it("run entries early with one and with several bound arguments", () => {
    const d = defer();
    const one = d.defer((a: number) => a * 2, 21);
    const many = d.defer(
      (a: number, b: number, c: number) => a + b + c,
      1,
      2,
      3,
    );
    assert.equal(one.dispose(), 42);
    assert.equal(many.dispose(), 6);
    assert.equal(d.size, 0);
  });
});

describe("memory", () => {
  it("lets a released cleanup and its arguments be collected at once", async () => {
    const d = defer();
    let payload: object | undefined = { big: new Array(1000).fill(1) };
    const ref = new WeakRef(payload);
    const handle = d.defer((p: object) => p, payload);
    payload = undefined;
    d.defer(() => {}); // keep an entry above, so the slot becomes a hole
    handle.release();
    await settledHeap();
    assert.equal(ref.deref(), undefined);
    assert.equal(d.size, 1);
  });

  it("lets the members a deadline never started be collected while a stopped member still runs", async () => {
    const hung: Array<() => void> = [];
    let payload: object | undefined = { big: new Array(1000).fill(1) };
    const refs = [new WeakRef(payload)];
    const d = defer();
    const inner = d.group().group({ limit: 1 });
    inner.group().defer((p: object) => p, payload);
    inner.defer((p: object) => p, payload);
    inner.defer(() => new Promise<void>((resolve) => hung.push(resolve)));
    payload = undefined;
    await rejected(d.disposeAsync({ timeout: 10 }));
    await settledHeap();
    assert.equal(refs[0].deref(), undefined);
    assert.equal(hung.length, 1); // the stopped member is still running
  });

  it("lets a nested group kept alone leave the entries above it to be collected", async () => {
    let payload: object | undefined = { big: new Array(1000).fill(1) };
    const ref = new WeakRef(payload);
    let kept = (() => {
      const d = defer();
      d.adopt(payload, () => {});
      return d.group().group();
    })();
    payload = undefined;
    await settledHeap();
    assert.equal(ref.deref(), undefined);
    assert.equal(kept.disposed, false);
    kept = undefined as never;
  });

  it("keeps nothing of a use() whose dispose getter disposed the stack", async () => {
    const ran: string[] = [];
    const d = defer();
    d.defer(() => ran.push("earlier entry"));
    let value: object | undefined = {
      big: new Array(1000).fill(1),
      get [Symbol.dispose]() {
        d.dispose(); // the stack goes while use() reads the method
        return () => ran.push("must not run");
      },
    };
    const ref = new WeakRef(value);
    assert.equal(d.use(value as Disposable), value);
    value = undefined;
    await settledHeap();
    assert.equal(ref.deref(), undefined);
    assert.deepEqual(ran, ["earlier entry"]);
    assert.equal(d.size, 0);
  });

  it("stays bounded over a million register/release cycles on one stack", async () => {
    const d = defer();
    d.defer(() => {}); // a long-lived entry at the bottom
    const cycle = () => {
      const a = d.defer((n: number) => n, 1);
      const b = d.defer(() => {});
      a.release(); // below the top: a hole for now
      b.release(); // the top: goes, and takes the hole with it
    };
    const growth = await growthOverAMillion(cycle);
    assert.equal(d.size, 1);
    // A million cycles with even one leaked slot each would add megabytes.
    assert.ok(growth < 1_000_000, `heap grew by ${growth} bytes`);
  });
});

describe("a long-lived stack whose entries are released out of order", () => {
  /** A pseudo-random sequence, the same on every run. */
  function numbers(seed: number): () => number {
    return () => (seed = (seed * 1103515245 + 12345) & 0x7fffffff);
  }

  /**
   * A server's stack: `open` connections at any time, each an entry
   * registered with its handle, closed (released) in random order.
   */
  function server(open: number) {
    const d = defer();
    const ran: number[] = [];
    d.defer(() => ran.push(-1)); // the application's own, at the bottom
    const next = numbers(7);
    let id = 0;
    const pool = Array.from(
      { length: open },
      () => d.defer((n: number) => ran.push(n), id++),
    );
    const closeOne = (): void => {
      const k = next() % open;
      assert.equal(pool[k].release(), true);
      pool[k] = d.defer((n: number) => ran.push(n), id++);
    };
    return { d, ran, pool, closeOne };
  }

  it("stays bounded over a million connections, 50 open at a time", async () => {
    const { d, closeOne } = server(50);
    const growth = await growthOverAMillion(closeOne);
    assert.equal(d.size, 51);
    // A hole per closed connection (three slots) would keep 24 MB or more.
    assert.ok(growth < 4_000_000, `heap grew by ${growth} bytes`);
  });

  it("keeps the handles registered before its slots were compacted working", () => {
    const { d, ran, closeOne } = server(50);
    const older: DeferHandle[] = [];
    for (let i = 0; i < 6; i++) {
      older.push(d.defer((n: number) => ran.push(n), -10 - i));
    }
    // Enough closed connections for several compactions.
    for (let i = 0; i < 20_000; i++) closeOne();
    assert.deepEqual(older.map((h) => h.pending), [
      true,
      true,
      true,
      true,
      true,
      true,
    ]);
    assert.equal(older[1].release(), true);
    assert.equal(older[1].pending, false);
    older[3].dispose();
    assert.deepEqual(ran, [-13]);
    assert.equal(older[3].pending, false);
    for (let i = 0; i < 20_000; i++) closeOne();
    assert.deepEqual(older.map((h) => h.pending), [
      true,
      false,
      true,
      false,
      true,
      true,
    ]);
    ran.length = 0;
    d.dispose();
    assert.equal(ran.length, 55);
    // The older entries left, newest first, then the application's own.
    assert.deepEqual(ran.filter((n) => n < 0), [-15, -14, -12, -10, -1]);
    // Each connection registered after them ran before them.
    const after = ran.indexOf(-15);
    assert.ok(ran.slice(0, after).every((n) => n >= 56), "out of order");
    assert.deepEqual(older.map((h) => h.pending), [
      false,
      false,
      false,
      false,
      false,
      false,
    ]);
  });

  it("keeps failure-only entries and groups registered before a compaction in place", () => {
    const { d, ran, closeOne } = server(50);
    const rollback = d.onFailure((n: number) => ran.push(n), -20);
    const group = d.group();
    group.defer(() => ran.push(-21));
    const kept = d.onFailure((n: number) => ran.push(n), -22);
    for (let i = 0; i < 20_000; i++) closeOne();
    assert.equal(rollback.release(), true);
    for (let i = 0; i < 20_000; i++) closeOne();
    group.dispose();
    assert.deepEqual(ran, [-21]);
    assert.equal(kept.pending, true);
    assert.equal(d.commit(), 1);
    assert.equal(kept.pending, false);
    assert.equal(d.size, 51);
    ran.length = 0;
    d.dispose();
    assert.equal(ran.length, 51);
    assert.equal(ran[50], -1);
  });

  it("runs every open entry once, newest first, with thousands open at a time", () => {
    const { d, ran, pool, closeOne } = server(3_000);
    for (let i = 0; i < 200_000; i++) closeOne();
    assert.ok(pool.every((h) => h.pending));
    ran.length = 0;
    d.dispose();
    assert.equal(ran.length, 3_001);
    // Ids grow with registration: newest first is descending.
    assert.ok(ran.every((n, i) => i === 0 || ran[i - 1] > n), "out of order");
    assert.equal(ran[3_000], -1);
  });
});

describe("failure-only entries", () => {
  it("leave no growth over a million onFailure/commit cycles on one stack", async () => {
    const d = defer();
    d.defer(() => {}); // a long-lived entry at the bottom
    const cycle = () => {
      d.onFailure((n: number) => n, 1);
      d.commit();
    };
    const growth = await growthOverAMillion(cycle);
    assert.equal(d.size, 1);
    assert.ok(growth < 1_000_000, `heap grew by ${growth} bytes`);
  });

  it("let go of a committed entry's cleanup and arguments at commit(), below a live entry", async () => {
    const d = defer();
    let payload: object | null = { big: new Array(1000).fill(0) };
    const collected = new WeakRef(payload);
    d.onFailure((p: object) => p, payload);
    d.defer(() => {}); // live, above it: nothing pops the record
    payload = null;
    d.commit();
    await settledHeap();
    assert.equal(collected.deref(), undefined);
    assert.equal(d.size, 1);
  });

  it("keep only the live entries' slots over a million onFailure/defer/commit cycles", async () => {
    const d = defer();
    const keep = () => {};
    const cycle = () => {
      // About 0.5 KB bound per rollback: kept, it would dominate the heap.
      d.onFailure((undo: number[]) => undo.length, new Array(64).fill(1));
      d.defer(keep);
      d.commit();
    };
    const growth = await growthOverAMillion(cycle);
    assert.equal(d.size, 1_010_000);
    // Each cycle leaves one live slot and a three-slot hole: 32 bytes, with
    // slack for the array's growth; the bound arrays alone would be 0.5 GB.
    assert.ok(growth < 100 * 1_000_000, `heap grew by ${growth} bytes`);
  });
});

describe("a million entries", () => {
  it("all run, last registered first", () => {
    const n = 1_000_000;
    let expected = n - 1;
    let outOfOrder = 0;
    const d = defer();
    for (let i = 0; i < n; i++) {
      d.defer((k: number) => {
        if (k !== expected--) outOfOrder++;
      }, i);
    }
    assert.equal(d.size, n);
    d.dispose();
    assert.equal(outOfOrder, 0);
    assert.equal(expected, -1);
  });

  it("that all throw give an error chain holding every error, without overflowing the stack", () => {
    const n = 1_000_000;
    const d = defer();
    for (let i = 0; i < n; i++) {
      d.defer((k: number) => {
        throw k;
      }, i);
    }
    let e: unknown;
    // Capturing a stack trace for each of a million SuppressedErrors is what
    // would make this slow; the chain's shape is what is under test.
    const limit = Error.stackTraceLimit;
    Error.stackTraceLimit = 0;
    try {
      d.dispose();
    } catch (caught) {
      e = caught;
    } finally {
      Error.stackTraceLimit = limit;
    }
    // Walk the chain without recursion: error holds entry k, suppressed the rest.
    let depth = 0;
    let ok = true;
    while (e instanceof Error && e.name === "SuppressedError") {
      const s = e as Error & { error: unknown; suppressed: unknown };
      if (s.error !== depth) ok = false;
      depth++;
      e = s.suppressed;
    }
    assert.equal(e, n - 1); // the innermost: the last registered, thrown first
    assert.equal(depth, n - 1);
    assert.ok(ok, "each level holds the next entry's error");
  });
});

// Stacks of tens of thousands of entries of every kind, reached through
// handles far below the top. On Bun a large stack is kept in chunks of
// 16,384 slots (src/slots.ts): these cross several chunk boundaries there,
// with records of every width.
describe("stacks of tens of thousands of mixed entries", () => {
  const N = 40_000;

  /** Registers `N` entries of every kind, in turn; each logs its index. */
  function mixed(d: ReturnType<typeof defer>, log: number[]) {
    const handles: ({ release(): boolean; dispose(): unknown } | null)[] = [];
    for (let i = 0; i < N; i++) {
      switch (i % 5) {
        case 0:
          handles.push(d.defer(() => void log.push(i)));
          break;
        case 1:
          handles.push(d.defer((k: number) => void log.push(k), i));
          break;
        case 2:
          d.use({ [Symbol.dispose]: () => void log.push(i) });
          handles.push(null);
          break;
        case 3:
          d.adopt(i, (k: number) => void log.push(k));
          handles.push(null);
          break;
        default: {
          const g = d.group();
          g.defer(() => void log.push(i));
          handles.push(null);
        }
      }
    }
    return handles;
  }

  it("run every entry of every kind once, last registered first", () => {
    const log: number[] = [];
    const d = defer();
    mixed(d, log);
    assert.equal(d.size, N);
    d.dispose();
    assert.equal(log.length, N);
    assert.ok(log.every((k, at) => k === N - 1 - at), "last in, first out");
  });

  it("release and run early entries far below the top, and leave the rest in order", () => {
    const log: number[] = [];
    const d = defer();
    const handles = mixed(d, log);
    const gone = new Set<number>();
    // From the bottom up: release some, run some now.
    for (let i = 0; i < N; i += 7) {
      const h = handles[i];
      if (h === null) continue;
      if (i % 2 === 0) assert.equal(h.release(), true);
      else h.dispose();
      gone.add(i);
    }
    const early = log.splice(0);
    assert.deepEqual(early, [...gone].filter((i) => i % 2 === 1));
    assert.equal(d.size, N - gone.size);
    d.dispose();
    const expected: number[] = [];
    for (let i = N - 1; i >= 0; i--) if (!gone.has(i)) expected.push(i);
    assert.deepEqual(log, expected);
  });

  it("keep size and order under churn at the top of 16,384 entries", () => {
    const log: number[] = [];
    const d = defer();
    for (let i = 0; i < 16_384; i++) d.defer(() => void log.push(i));
    for (let round = 0; round < 1_000; round++) {
      const h = d.defer(() => void log.push(-1));
      assert.equal(h.release(), true);
    }
    d.defer(() => void log.push(16_384));
    assert.equal(d.size, 16_385);
    d.dispose();
    assert.equal(log.length, 16_385);
    assert.ok(log.every((k, at) => k === 16_384 - at), "LIFO, no stray entry");
  });

  it("give back the slots of entries released last in, first out", async () => {
    const d = defer();
    const cycle = () => {
      const handles = [];
      for (let i = 0; i < 20_000; i++) handles.push(d.defer(() => {}));
      for (let i = handles.length - 1; i >= 0; i--) handles[i].release();
    };
    cycle();
    const before = await settledHeap();
    for (let i = 0; i < 200; i++) cycle();
    const growth = await settledHeap() - before;
    assert.equal(d.size, 0);
    // Holes left behind would keep 160 KB per cycle: 32 MB.
    assert.ok(growth < 8_000_000, `heap grew by ${growth} bytes`);
  });

  it("give back the room of a burst of a million released last in, first out, below a long-lived entry", async () => {
    const d = defer();
    d.defer(() => {}); // the application's own, at the bottom
    const before = await settledHeap();
    const handles = [];
    for (let i = 0; i < 1_000_000; i++) {
      handles.push(d.defer((n: number) => n, i));
    }
    while (handles.length > 0) handles.pop()!.release();
    const growth = await settledHeap() - before;
    assert.equal(d.size, 1);
    // The array's room for three million slots alone is 24 MB.
    assert.ok(growth < 4_000_000, `heap grew by ${growth} bytes`);
  });

  it("name, at a deadline, the entry still running and the 40,001 never started", async () => {
    const d = defer();
    d.defer(function lowest() {});
    for (let i = 0; i < N; i++) d.defer(() => {});
    d.defer(function hangs() {
      return new Promise<void>(() => {});
    });
    for (let i = 0; i < N; i++) d.defer(() => {});
    let e: unknown;
    try {
      await d.disposeAsync({ timeout: 50 });
    } catch (caught) {
      e = caught;
    }
    const stop = e as { running: string[]; notStarted: string[] };
    assert.deepEqual(stop.running, ["hangs"]);
    assert.equal(stop.notStarted.length, N + 1);
    assert.equal(stop.notStarted.at(-1), "lowest");
  });
});
