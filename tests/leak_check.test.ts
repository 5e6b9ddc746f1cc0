// The opt-in leak check. Forces garbage collection: needs --expose-gc
// (Node, Deno's --v8-flags) or Bun.gc.
import { afterEach, describe, it } from "node:test";
import assert from "node:assert/strict";
import process from "node:process";
import {
  defer,
  DeferStack,
  type LeakCheckOption,
  type LeakReport,
  scope,
  setLeakCheck,
} from "../mod.ts";
import { forceGc } from "./helpers.ts";

/**
 * Collects until `done()` or a bounded number of rounds has passed, then a
 * few rounds more, so a report that should not come has its chance to.
 */
async function collectUntil(done: () => boolean): Promise<void> {
  const round = async () => {
    forceGc();
    await new Promise((resolve) => setTimeout(resolve, 10));
  };
  for (let i = 0; i < 50 && !done(); i++) await round();
  for (let i = 0; i < 3; i++) await round();
}

/** Creates a stack in a frame of its own, so nothing keeps it alive. */
function abandon(make: () => void): void {
  make();
}

describe("the leak check", () => {
  afterEach(() => setLeakCheck(false));

  it("reports a stack collected with pending entries, and how many", async () => {
    const reports: LeakReport[] = [];
    abandon(() => {
      const d = defer({ leakCheck: (r) => reports.push(r) });
      d.defer(() => {});
      d.defer(() => {});
    });
    await collectUntil(() => reports.length > 0);
    assert.equal(reports.length, 1);
    assert.equal(reports[0].pending, 2);
  });

  it("says where the stack was created, from the caller's frame on, without this library's", async () => {
    const reports: LeakReport[] = [];
    function createdHere(): void {
      const d = defer({ leakCheck: (r) => reports.push(r) });
      d.defer(() => {});
    }
    createdHere();
    await collectUntil(() => reports.length > 0);
    const frames = (reports[0]?.createdAt ?? "").split("\n");
    assert.match(frames[0], /^at createdHere /);
    assert.ok(
      frames.every((frame) => !/DeferStack|src\/\w+\.ts/.test(frame)),
      frames.join("\n"),
    );
  });

  it("starts the trace at the caller of scope() for the stack scope() creates, or of new DeferStack()", async () => {
    const traces = new Map<string, string>();
    const onLeak = (name: string) => (r: LeakReport) =>
      traces.set(name, r.createdAt);
    function startedWorker(): void {
      void scope((d) => {
        d.defer(() => {});
        return new Promise(() => {}); // never settles: the stack stays open
      }, { leakCheck: onLeak("scope") });
    }
    function constructedHere(): void {
      new DeferStack({ leakCheck: onLeak("new") }).defer(() => {});
    }
    function madeInsideScope(): void {
      void scope(() => {
        new DeferStack({ leakCheck: onLeak("inside") }).defer(() => {});
        return new Promise(() => {});
      });
    }
    startedWorker();
    constructedHere();
    madeInsideScope();
    await collectUntil(() => traces.size > 2);
    assert.match(traces.get("scope") ?? "", /^at startedWorker /);
    assert.match(traces.get("new") ?? "", /^at constructedHere /);
    // From the body, which made that stack, not from scope()'s caller.
    const inside = (traces.get("inside") ?? "").split("\n");
    assert.match(inside[0], /leak_check\.test\.ts/);
    assert.doesNotMatch(inside[0], /madeInsideScope/);
    assert.ok(inside.some((frame) => /^at madeInsideScope /.test(frame)));
  });

  it("gives the caller's frame alone under Error.stackTraceLimit = 1", async () => {
    const reports: LeakReport[] = [];
    function createdHere(): void {
      defer({ leakCheck: (r) => reports.push(r) }).defer(() => {});
    }
    const before = Error.stackTraceLimit;
    Error.stackTraceLimit = 1;
    try {
      createdHere();
    } finally {
      Error.stackTraceLimit = before;
    }
    await collectUntil(() => reports.length > 0);
    assert.match(reports[0].createdAt, /^at createdHere [^\n]*$/);
  });

  it("stays silent for stacks that were disposed, released or moved", async () => {
    const reports: LeakReport[] = [];
    const onLeak = (r: LeakReport) => reports.push(r);
    const kept: unknown[] = [];
    abandon(() => {
      const a = defer({ leakCheck: onLeak });
      a.defer(() => {});
      a.dispose();
      const b = defer({ leakCheck: onLeak });
      b.defer(() => {});
      b.release();
      const c = defer({ leakCheck: onLeak });
      c.defer(() => {});
      kept.push(c.move()); // the entries live on in the moved stack
    });
    // A sentinel that is reported, so the silence above is not a GC that
    // never happened.
    abandon(() => defer({ leakCheck: onLeak }).defer(() => {}));
    await collectUntil(() => reports.length > 0);
    assert.equal(reports.length, 1);
    assert.equal(kept.length, 1);
  });

  it("follows the entries into the stack move() returns", async () => {
    const reports: LeakReport[] = [];
    abandon(() => {
      const d = defer({ leakCheck: (r) => reports.push(r) });
      d.defer(() => {});
      d.move(); // the moved stack is dropped with its entry
    });
    await collectUntil(() => reports.length > 0);
    assert.equal(reports.length, 1);
    assert.equal(reports[0].pending, 1);
  });

  it("reports a moved stack as created where the original was", async () => {
    const reports: LeakReport[] = [];
    let move!: () => void;
    function createdHere(): void {
      const d = defer({ leakCheck: (r) => reports.push(r) });
      d.defer(() => {});
      move = () => void d.move();
    }
    createdHere();
    move();
    await collectUntil(() => reports.length > 0);
    assert.match(
      reports[0]?.createdAt.split("\n")[0] ?? "",
      /^at createdHere /,
    );
  });

  it("reports and lets go of a stack whose cleanup closes over it, with leakCheck: true", async () => {
    // The shape, written inline. A handler closure written in that
    // same function would share the engine's scope object with the cleanup
    // and so reach the stack: the README says to define handlers elsewhere.
    const warnings: unknown[][] = [];
    const original = console.warn;
    console.warn = (...args: unknown[]) => void warnings.push(args);
    let stack!: WeakRef<object>;
    try {
      (() => {
        const d = defer({ leakCheck: true });
        d.defer(() => d.size);
        stack = new WeakRef(d);
      })();
      await collectUntil(() => warnings.length > 0);
    } finally {
      console.warn = original;
    }
    assert.equal(warnings.length, 1);
    assert.equal(stack.deref(), undefined);
  });

  it("applies to every new stack after setLeakCheck(handler)", async () => {
    const reports: LeakReport[] = [];
    setLeakCheck((r) => reports.push(r));
    abandon(() => defer().defer(() => {}));
    await collectUntil(() => reports.length > 0);
    assert.equal(reports.length, 1);
  });

  it("is off by default", async () => {
    const reports: LeakReport[] = [];
    setLeakCheck((r) => reports.push(r));
    setLeakCheck(false);
    abandon(() => defer().defer(() => {}));
    // Sentinel: a stack that opts in, to know a collection happened.
    abandon(() => defer({ leakCheck: (r) => reports.push(r) }).defer(() => {}));
    await collectUntil(() => reports.length > 0);
    assert.equal(reports.length, 1);
  });

  it("warns on the console with leakCheck: true", async () => {
    const warnings: unknown[][] = [];
    const original = console.warn;
    console.warn = (...args: unknown[]) => void warnings.push(args);
    try {
      abandon(() => defer({ leakCheck: true }).defer(() => {}));
      await collectUntil(() => warnings.length > 0);
    } finally {
      console.warn = original;
    }
    assert.equal(warnings.length, 1);
    const [first, ...trace] = String(warnings[0][0]).split("\n");
    assert.match(first, /1 pending cleanup.*It was created:$/);
    assert.ok(trace.length > 0);
    assert.ok(
      trace.every((frame) => frame.startsWith("    at ")),
      trace.join("\n"),
    );
  });

  // A stack its own entries refer back to: the usual shape of a class that
  // owns a stack. The check must neither miss it nor keep it alive.
  const selfReferring: Record<string, (d: DeferStack) => void> = {
    "a cleanup that closes over the stack": (d) => {
      d.defer(() => d.size);
    },
    "a cleanup that closes over an owner holding the stack": (d) => {
      const owner = { stack: d, closed: false };
      d.defer(() => (owner.closed = true));
    },
    "a use()d value that refers to the stack": (d) => {
      d.use({ stack: d, [Symbol.dispose]() {} });
    },
  };
  for (const [shape, register] of Object.entries(selfReferring)) {
    it(`reports and lets go of a stack with ${shape}`, async () => {
      const reports: LeakReport[] = [];
      let stack!: WeakRef<DeferStack>;
      abandon(() => {
        const d = defer({ leakCheck: (r) => reports.push(r) });
        register(d);
        stack = new WeakRef(d);
      });
      await collectUntil(() => reports.length > 0);
      assert.equal(reports.length, 1);
      assert.equal(reports[0].pending, 1);
      assert.equal(stack.deref(), undefined);
    });
  }

  it("leaves the heap after collection as it is without the check", async () => {
    // Dropped stacks whose cleanup closes over them, each holding about
    // 200 KB: kept alive by the check, 100 of them would be 20 MB.
    const heapAfterDropping = async (leakCheck: LeakCheckOption) => {
      abandon(() => {
        for (let i = 0; i < 100; i++) {
          const d = defer({ leakCheck });
          const data = new Array(25_000).fill(i);
          d.defer(() => d.size + data.length);
        }
      });
      // Rounds of collection with turns of the event loop between them, so
      // finalizers run and let go of what they held.
      for (let i = 0; i < 5; i++) {
        forceGc();
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
      forceGc();
      return process.memoryUsage().heapUsed;
    };
    // Both runs without the check first: stacks the check kept alive would
    // stay for good and spoil any run after them.
    const off = await heapAfterDropping(false);
    const off2 = await heapAfterDropping(false);
    const on = await heapAfterDropping(() => {});
    const noise = Math.abs(off2 - off);
    assert.ok(
      on - Math.max(off, off2) < 4_000_000 + noise,
      `with the check: ${on} bytes; without: ${off}, ${off2}`,
    );
  });

  it("rejects a bad option at once", () => {
    assert.throws(
      () => defer({ leakCheck: "yes" as unknown as boolean }),
      TypeError,
    );
    assert.throws(() => setLeakCheck(1 as unknown as boolean), TypeError);
    assert.throws(() => defer(5 as unknown as object), TypeError);
  });
});
