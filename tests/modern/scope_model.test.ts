// Model test: scope(body) against the `using` / `await using` block it
// stands for, over random bodies. Needs the syntax, so Node 22 does not run
// this file. The reference blocks are written out below: scope() must
// match them call for call, error chain for error chain, and (for async
// bodies) microtask for microtask.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { defer, DeferStack, scope } from "../../mod.ts";

const RUNS = 500;

type Op =
  | "defer"
  | "deferThrow"
  | "deferAsync"
  | "onFailure"
  | "dispose"
  | "disposeAsync"
  | "move"
  | "release"
  | "commit";
type End =
  | "return"
  | "throw"
  | "returnMoved"
  | "thenableResolve"
  | "thenableReject"
  | "throwingThen";
interface Body {
  async: boolean;
  before: Op[];
  ticks: number;
  after: Op[];
  end: End;
}

function describeError(e: unknown): string {
  if (e instanceof Error && e.name === "SuppressedError") {
    const s = e as Error & { error: unknown; suppressed: unknown };
    return `S(${describeError(s.error)}, ${describeError(s.suppressed)})`;
  }
  if (e instanceof Error) return `${e.name}: ${e.message}`;
  return `value ${String(e)}`;
}

/** Builds the body a program describes; it logs what it does to `log`. */
function makeBody(program: Body, log: string[]): (d: DeferStack) => unknown {
  let moved: DeferStack | null = null;
  let n = 0;
  const step = async (d: DeferStack, op: Op) => {
    const id = `${op} #${n++}`;
    try {
      switch (op) {
        case "defer":
          d.defer(() => log.push(`run ${id}`));
          break;
        case "deferThrow":
          d.defer(() => {
            log.push(`run ${id}`);
            throw new Error(id);
          });
          break;
        case "deferAsync":
          d.defer(async () => {
            log.push(`run ${id}`);
            await null;
            log.push(`settle ${id}`);
          });
          break;
        case "onFailure":
          d.onFailure(() => log.push(`run ${id}`));
          break;
        case "dispose":
          d.dispose();
          break;
        case "disposeAsync":
          await d.disposeAsync();
          break;
        case "move":
          moved = d.move();
          break;
        case "release":
          log.push(`released ${d.release()}`);
          break;
        case "commit":
          log.push(`committed ${d.commit()}`);
          break;
      }
      log.push(`${id} done`);
    } catch (e) {
      log.push(`${id} threw ${describeError(e)}`);
    }
  };
  const end = (): unknown => {
    switch (program.end) {
      case "return":
        return "value";
      case "throw":
        throw new Error("body");
      case "returnMoved":
        return moved;
      case "thenableResolve":
        return {
          get then() {
            log.push("then read");
            return (resolve: (v: unknown) => void) => resolve("thenable value");
          },
        };
      case "thenableReject":
        return {
          get then() {
            log.push("then read");
            return (_: unknown, reject: (e: unknown) => void) =>
              reject(new Error("thenable"));
          },
        };
      case "throwingThen":
        return {
          get then(): never {
            log.push("then read");
            throw new Error("then getter");
          },
        };
    }
  };
  if (!program.async) {
    // Synchronous ops only: none of them awaits anything.
    return (d) => {
      for (const op of program.before) void step(d, op);
      return end();
    };
  }
  return async (d) => {
    for (const op of program.before) await step(d, op);
    for (let t = 0; t < program.ticks; t++) await null;
    for (const op of program.after) await step(d, op);
    return end();
  };
}

/** The `using` block scope() stands for, for a body that is synchronous. */
function usingBlock(body: (d: DeferStack) => unknown): unknown {
  using d = defer();
  const result = body(d);
  // scope() must look at the result to know it is not a promise: a then
  // getter that throws fails the block.
  if (typeof result === "object" && result !== null) {
    void (result as { then?: unknown }).then;
  }
  if (!d.disposed) d.commit();
  return result;
}

/** The `await using` block scope() stands for, for a promise or thenable. */
async function awaitUsingBlock(
  body: (d: DeferStack) => unknown,
): Promise<unknown> {
  await using d = defer();
  const result = await body(d);
  if (!d.disposed) d.commit();
  return result;
}

/** What a run ended with, and what a stack handed back still holds. */
async function outcome(log: string[], run: () => unknown): Promise<void> {
  let result: unknown;
  try {
    result = run();
  } catch (e) {
    log.push(`threw ${describeError(e)}`);
    return;
  }
  if (result instanceof Promise) {
    log.push("returned a promise");
    let done = false;
    const ticker = (async () => {
      for (let t = 0; t < 200 && !done; t++) {
        log.push(`tick ${t}`);
        await null;
      }
    })();
    try {
      result = await result;
      log.push("resolved");
    } catch (e) {
      log.push(`rejected ${describeError(e)}`);
      result = undefined;
    }
    done = true;
    await ticker;
  }
  if (result instanceof DeferStack) {
    log.push(`a stack: disposed ${result.disposed}, size ${result.size}`);
    try {
      await result.disposeAsync();
    } catch (e) {
      log.push(`its disposal rejected ${describeError(e)}`);
    }
  } else {
    log.push(`value ${String(result)}`);
  }
}

const syncOps: Op[] = [
  "defer",
  "deferThrow",
  "deferAsync",
  "onFailure",
  "dispose",
  "move",
  "release",
  "commit",
];
const syncBody: fc.Arbitrary<Body> = fc.record({
  async: fc.constant(false),
  before: fc.array(fc.constantFrom(...syncOps), { maxLength: 8 }),
  ticks: fc.constant(0),
  after: fc.constant([]),
  end: fc.constantFrom<End>(
    "return",
    "throw",
    "returnMoved",
    "thenableResolve",
    "thenableReject",
    "throwingThen",
  ),
});
const asyncBody: fc.Arbitrary<Body> = fc.record({
  async: fc.constant(true),
  before: fc.array(fc.constantFrom(...syncOps, "disposeAsync"), {
    maxLength: 6,
  }),
  ticks: fc.integer({ min: 0, max: 2 }),
  after: fc.array(fc.constantFrom(...syncOps, "disposeAsync"), {
    maxLength: 4,
  }),
  end: fc.constantFrom<End>("return", "throw", "returnMoved"),
});

async function compare(program: Body): Promise<void> {
  const viaScope: string[] = [];
  await outcome(viaScope, () => scope(makeBody(program, viaScope)));
  const viaBlock: string[] = [];
  const thenable = program.end === "thenableResolve" ||
    program.end === "thenableReject";
  await outcome(
    viaBlock,
    () =>
      program.async || thenable
        ? awaitUsingBlock(makeBody(program, viaBlock))
        : usingBlock(makeBody(program, viaBlock)),
  );
  assert.deepEqual(viaScope, viaBlock);
}

describe("scope() against the using block it stands for", () => {
  it("matches `using` on random synchronous bodies", async () => {
    await fc.assert(fc.asyncProperty(syncBody, compare), { numRuns: RUNS });
  });

  it("matches `await using`, microtask by microtask, on random async bodies", async () => {
    await fc.assert(fc.asyncProperty(asyncBody, compare), { numRuns: RUNS });
  });
});
