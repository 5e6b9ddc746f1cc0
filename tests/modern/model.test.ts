// Model-based tests: random programs run side by side on defer() and on the
// runtime's native DisposableStack / AsyncDisposableStack, which serve as
// the oracle. Needs the native stacks, so Node 22 does not run this file.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { defer } from "../../mod.ts";

const RUNS = 1000;

type Mode = "ok" | "throw" | "reject";
type Behaviour = { mode: Mode; ticks: number };
type Variant = "null" | "undefined" | "sync" | "async" | "both";
type Step =
  | { op: "use"; variant: Variant; b: Behaviour }
  | { op: "adopt"; b: Behaviour }
  | { op: "defer"; b: Behaviour }
  | { op: "move" }
  | { op: "dispose" };

/** The parts of a stack both suites drive; native and ours alike. */
interface AnyStack {
  readonly disposed: boolean;
  use(value: unknown): unknown;
  adopt(value: unknown, onDispose: (value: unknown) => unknown): unknown;
  defer(onDispose: () => unknown): unknown;
  move(): AnyStack;
}

/** Describes a thrown value so native and ours can be compared. */
function describeError(e: unknown): string {
  if (e instanceof Error && e.name === "SuppressedError") {
    const s = e as Error & { error: unknown; suppressed: unknown };
    return `S(${describeError(s.error)}, ${describeError(s.suppressed)})`;
  }
  // Messages of the stacks' own errors differ between implementations.
  if (e instanceof TypeError || e instanceof ReferenceError) return e.name;
  if (e instanceof Error) return e.message;
  return `value ${String(e)}`;
}

/** A cleanup that logs, then succeeds, throws, or settles after ticks. */
function cleanup(log: string[], id: string, b: Behaviour): () => unknown {
  return () => {
    log.push(`run ${id}`);
    if (b.mode === "throw") throw new Error(id);
    if (b.mode === "ok" && b.ticks === 0) return undefined;
    return (async () => {
      for (let t = 0; t < b.ticks; t++) await null;
      log.push(`settle ${id}`);
      if (b.mode === "reject") throw new Error(id);
    })();
  };
}

function disposable(log: string[], id: string, variant: Variant, b: Behaviour) {
  switch (variant) {
    case "null":
      return null;
    case "undefined":
      return undefined;
    case "sync":
      return { [Symbol.dispose]: cleanup(log, id, b) };
    case "async":
      return { [Symbol.asyncDispose]: cleanup(log, id, b) };
    case "both":
      return {
        [Symbol.dispose]: () => log.push(`sync method of ${id}`),
        [Symbol.asyncDispose]: cleanup(log, id, b),
      };
  }
}

/** Runs one registration step; logs what it returned or threw. */
function register(
  log: string[],
  stack: AnyStack,
  step: Step,
  i: number,
): AnyStack {
  const id = `#${i}`;
  try {
    switch (step.op) {
      case "use": {
        const value = disposable(log, id, step.variant, step.b);
        log.push(`use ${id} returned same: ${stack.use(value) === value}`);
        return stack;
      }
      case "adopt": {
        const value = { id };
        const f = cleanup(log, id, step.b);
        const returned = stack.adopt(value, (v) => {
          log.push(`adopt got same: ${v === value}`);
          return f();
        });
        log.push(`adopt ${id} returned same: ${returned === value}`);
        return stack;
      }
      case "defer":
        // The return value differs on purpose (a handle vs undefined).
        stack.defer(cleanup(log, id, step.b));
        log.push(`defer ${id}`);
        return stack;
      case "move": {
        const moved = stack.move();
        log.push(`move: old disposed ${stack.disposed}, new ${moved.disposed}`);
        return moved;
      }
      default:
        return stack;
    }
  } catch (e) {
    log.push(`step ${id} threw ${describeError(e)}`);
    return stack;
  }
}

function runSync(make: () => object, steps: Step[]): string[] {
  const log: string[] = [];
  let stack = make() as AnyStack;
  const dispose = (label: string) => {
    try {
      (stack as AnyStack & { dispose(): void }).dispose();
      log.push(`${label} returned`);
    } catch (e) {
      log.push(`${label} threw ${describeError(e)}`);
    }
    log.push(`disposed ${stack.disposed}`);
  };
  steps.forEach((step, i) => {
    if (step.op === "dispose") dispose(`dispose at #${i}`);
    else stack = register(log, stack, step, i);
  });
  dispose("final dispose");
  return log;
}

async function runAsync(
  make: () => object,
  steps: Step[],
): Promise<string[]> {
  const log: string[] = [];
  let stack = make() as AnyStack;
  const dispose = async (label: string) => {
    // A parallel chain of microtasks: where its ticks fall in the log shows
    // every await the disposal took.
    let done = false;
    const ticker = (async () => {
      for (let t = 0; t < 500 && !done; t++) {
        log.push(`tick ${t}`);
        await null;
      }
    })();
    try {
      const result = await (stack as AnyStack & {
        disposeAsync(): Promise<void>;
      }).disposeAsync();
      log.push(`${label} resolved ${String(result)}`);
    } catch (e) {
      log.push(`${label} rejected ${describeError(e)}`);
    }
    done = true;
    await ticker;
    log.push(`disposed ${stack.disposed}`);
  };
  for (const [i, step] of steps.entries()) {
    if (step.op === "dispose") await dispose(`disposeAsync at #${i}`);
    else stack = register(log, stack, step, i);
  }
  await dispose("final disposeAsync");
  return log;
}

const syncBehaviour = fc.record({
  mode: fc.constantFrom<Mode>("ok", "throw"),
  ticks: fc.constant(0),
});
const asyncBehaviour = fc.record({
  mode: fc.constantFrom<Mode>("ok", "throw", "reject"),
  ticks: fc.integer({ min: 0, max: 3 }),
});

function steps(variants: Variant[], behaviour: fc.Arbitrary<Behaviour>) {
  const step: fc.Arbitrary<Step> = fc.oneof(
    {
      weight: 4,
      arbitrary: fc.record({
        op: fc.constant("use" as const),
        variant: fc.constantFrom(...variants),
        b: behaviour,
      }),
    },
    {
      weight: 3,
      arbitrary: fc.record({ op: fc.constant("adopt" as const), b: behaviour }),
    },
    {
      weight: 4,
      arbitrary: fc.record({ op: fc.constant("defer" as const), b: behaviour }),
    },
    { weight: 1, arbitrary: fc.constant({ op: "move" as const }) },
    { weight: 1, arbitrary: fc.constant({ op: "dispose" as const }) },
  );
  return fc.array(step, { maxLength: 14 });
}

describe("defer() against the native stacks", () => {
  it("matches DisposableStack on random programs", () => {
    fc.assert(
      fc.property(
        steps(["null", "undefined", "sync", "both"], syncBehaviour),
        (program) => {
          assert.deepEqual(
            runSync(() => defer(), program),
            runSync(() => new DisposableStack(), program),
          );
        },
      ),
      { numRuns: RUNS },
    );
  });

  // An exit-bound stack is watched by the exit machinery, in a loop of
  // its own: it must take the same awaits.
  for (const exit of [false, true]) {
    it(
      `matches AsyncDisposableStack, microtask by microtask, on random programs${
        exit ? ", exit-bound" : ""
      }`,
      async () => {
        // A sync Symbol.dispose used as the async fallback may only succeed
        // or throw: a promise it returned is ignored by the spec, so a
        // rejection of it would be unhandled in both implementations.
        const fallback = fc.record({
          mode: fc.constantFrom<Mode>("ok", "throw"),
          ticks: fc.integer({ min: 0, max: 3 }),
        });
        await fc.assert(
          fc.asyncProperty(
            steps(["null", "undefined", "async", "both"], asyncBehaviour),
            steps(["sync"], fallback),
            async (a, b) => {
              // Interleave the two programs so fallbacks mix with the rest.
              const program = a.flatMap((
                step,
                i,
              ) => (b[i] ? [step, b[i]] : [step]));
              assert.deepEqual(
                await runAsync(() => defer({ exit }), program),
                await runAsync(() => new AsyncDisposableStack(), program),
              );
            },
          ),
          { numRuns: exit ? RUNS / 4 : RUNS },
        );
      },
    );
  }
});
