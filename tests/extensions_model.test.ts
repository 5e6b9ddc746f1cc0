// Model-based test of the extensions, which have no native oracle: random
// programs of defer/onFailure/use, handle release and run-early (also from
// inside running cleanups), release(), commit() and move(), run on defer()
// and on a plain-array model, comparing every result, size, pending flag and
// the order cleanups ran in.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { defer, type DeferHandle, type DeferStack } from "../mod.ts";

type Op =
  | { op: "defer"; args: number }
  | { op: "onFailure"; args: number }
  | { op: "use" }
  | { op: "adopt" }
  | { op: "releaser"; target: number }
  | { op: "release"; target: number }
  | { op: "run"; target: number }
  | { op: "releaseAll" }
  | { op: "commit" }
  | { op: "move" };

interface ModelEntry {
  id: number;
  failureOnly: boolean;
  state: "pending" | "done";
  /** For a "releaser": the handle it releases when it runs. */
  releases?: number;
}

/** The obvious implementation: an array, scanned. */
class Model {
  entries: ModelEntry[] = [];
  handles: ModelEntry[] = [];
  log: number[] = [];

  add(
    id: number,
    failureOnly: boolean,
    withHandle: boolean,
    releases?: number,
  ) {
    const e: ModelEntry = { id, failureOnly, state: "pending", releases };
    this.entries.push(e);
    if (withHandle) this.handles.push(e);
  }
  size(): number {
    return this.entries.filter((e) => e.state === "pending").length;
  }
  release(k: number): boolean {
    const e = this.handles[k];
    if (!e || e.state !== "pending") return false;
    e.state = "done";
    return true;
  }
  run(k: number): number | undefined {
    const e = this.handles[k];
    if (!e || e.state !== "pending") return undefined;
    e.state = "done";
    this.log.push(e.id);
    // A releaser's cleanup releases its target and returns nothing.
    if (e.releases === undefined) return e.id;
    this.release(e.releases);
    return undefined;
  }
  releaseAll(): number {
    const n = this.size();
    for (const e of this.entries) e.state = "done";
    this.entries = [];
    return n;
  }
  commit(): number {
    let n = 0;
    for (const e of this.entries) {
      if (e.failureOnly && e.state === "pending") {
        e.state = "done";
        n++;
      }
    }
    return n;
  }
  dispose(): void {
    for (let i = this.entries.length - 1; i >= 0; i--) {
      const e = this.entries[i];
      if (e.state !== "pending") continue;
      e.state = "done";
      this.log.push(e.id);
      if (e.releases !== undefined) this.release(e.releases);
    }
    this.entries = [];
  }
}

function runBoth(program: Op[]): void {
  const model = new Model();
  const log: number[] = [];
  const handles: DeferHandle[] = [];
  let stack: DeferStack = defer();
  const record = (id: number) => log.push(id);

  program.forEach((step, id) => {
    const where = `step ${id} (${step.op})`;
    switch (step.op) {
      case "defer":
      case "onFailure": {
        const args = Array.from({ length: step.args }, (_, i) => i);
        const fn = (...got: number[]) => {
          assert.deepEqual(got, args, `${where}: bound arguments`);
          record(id);
          return id;
        };
        handles.push(
          step.op === "defer"
            ? stack.defer(fn, ...args)
            : stack.onFailure(fn, ...args),
        );
        model.add(id, step.op === "onFailure", true);
        break;
      }
      case "use":
        stack.use({ [Symbol.dispose]: () => record(id) });
        model.add(id, false, false);
        break;
      case "adopt":
        stack.adopt(id, record);
        model.add(id, false, false);
        break;
      case "releaser": {
        const k = step.target % (handles.length + 1);
        handles.push(stack.defer(() => {
          record(id);
          handles[k]?.release();
        }));
        model.add(id, false, true, k);
        break;
      }
      case "release": {
        const k = step.target % Math.max(handles.length, 1);
        assert.equal(handles[k]?.release() ?? false, model.release(k), where);
        break;
      }
      case "run": {
        const k = step.target % Math.max(handles.length, 1);
        assert.equal(handles[k]?.dispose(), model.run(k), where);
        break;
      }
      case "releaseAll":
        assert.equal(stack.release(), model.releaseAll(), where);
        break;
      case "commit":
        assert.equal(stack.commit(), model.commit(), where);
        break;
      case "move":
        stack = stack.move();
        break;
    }
    assert.equal(stack.size, model.size(), `${where}: size`);
    assert.deepEqual(
      handles.map((h) => h.pending),
      model.handles.map((e) => e.state === "pending"),
      `${where}: pending flags`,
    );
  });
  stack.dispose();
  model.dispose();
  assert.deepEqual(log, model.log, "cleanups ran in the model's order");
  assert.ok(handles.every((h) => !h.pending), "nothing pending after dispose");
}

const op: fc.Arbitrary<Op> = fc.oneof(
  {
    weight: 5,
    arbitrary: fc.record({
      op: fc.constant("defer" as const),
      args: fc.integer({ min: 0, max: 3 }),
    }),
  },
  {
    weight: 3,
    arbitrary: fc.record({
      op: fc.constant("onFailure" as const),
      args: fc.integer({ min: 0, max: 3 }),
    }),
  },
  { weight: 2, arbitrary: fc.constant({ op: "use" as const }) },
  { weight: 1, arbitrary: fc.constant({ op: "adopt" as const }) },
  {
    weight: 2,
    arbitrary: fc.record({
      op: fc.constant("releaser" as const),
      target: fc.nat(),
    }),
  },
  {
    weight: 5,
    arbitrary: fc.record({
      op: fc.constant("release" as const),
      target: fc.nat(),
    }),
  },
  {
    weight: 3,
    arbitrary: fc.record({ op: fc.constant("run" as const), target: fc.nat() }),
  },
  { weight: 1, arbitrary: fc.constant({ op: "releaseAll" as const }) },
  { weight: 2, arbitrary: fc.constant({ op: "commit" as const }) },
  { weight: 1, arbitrary: fc.constant({ op: "move" as const }) },
);

describe("the extensions against a plain-array model", () => {
  it("agree on every result, size, pending flag and cleanup order", () => {
    fc.assert(
      fc.property(
        fc.array(op, { maxLength: 40 }),
        (program) => runBoth(program),
      ),
      { numRuns: 1000 },
    );
  });
});
