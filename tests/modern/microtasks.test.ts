// Where each await of disposeAsync() falls, compared with the native
// AsyncDisposableStack on named cases (the model test covers random ones).
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { defer } from "../../mod.ts";

interface AsyncStack {
  use(value: unknown): unknown;
  defer(fn: () => unknown): unknown;
  disposeAsync(): Promise<void>;
}

/** Logs a parallel chain of ticks around a disposal set up by `setup`. */
async function ticks(
  make: () => object,
  setup: (stack: AsyncStack, log: string[]) => void,
): Promise<string[]> {
  const log: string[] = [];
  const stack = make() as AsyncStack;
  setup(stack, log);
  let done = false;
  const disposal = stack.disposeAsync().then(
    () => log.push("resolved"),
    () => log.push("rejected"),
  ).finally(() => (done = true));
  for (let t = 0; t < 20 && !done; t++) {
    log.push(`tick ${t}`);
    await null;
  }
  await disposal;
  return log;
}

const cases: Record<string, (stack: AsyncStack, log: string[]) => void> = {
  "an empty stack": () => {},
  "a lone use(null)": (s) => s.use(null),
  "use(null) below a sync cleanup": (s, log) => {
    s.use(null);
    s.defer(() => log.push("cleanup"));
  },
  "use(null) above a cleanup that throws": (s, log) => {
    s.defer(() => {
      log.push("throws");
      throw new Error("x");
    });
    s.use(undefined);
  },
  "a Symbol.dispose fallback": (s, log) =>
    s.use({ [Symbol.dispose]: () => log.push("fallback") }),
  "a Symbol.dispose fallback that throws": (s, log) =>
    s.use({
      [Symbol.dispose]() {
        log.push("fallback throws");
        throw new Error("x");
      },
    }),
  "an async cleanup taking two awaits": (s, log) =>
    s.defer(async () => {
      await null;
      await null;
      log.push("async done");
    }),
  "a cleanup returning a thenable": (s, log) =>
    s.defer(() => ({
      then(ok: (v: unknown) => void) {
        log.push("then called");
        ok(1);
      },
    })),
};

describe("disposeAsync() takes the built-in's awaits", () => {
  for (const [name, setup] of Object.entries(cases)) {
    it(`for ${name}`, async () => {
      assert.deepEqual(
        await ticks(() => defer(), setup),
        await ticks(() => new AsyncDisposableStack(), setup),
      );
    });
  }
  // Watched by the exit machinery, with a loop of its own.
  for (const [name, setup] of Object.entries(cases)) {
    it(`for ${name}, on an exit-bound stack`, async () => {
      assert.deepEqual(
        await ticks(() => defer({ exit: true }), setup),
        await ticks(() => new AsyncDisposableStack(), setup),
      );
    });
  }
  it("for two cleanups, on an exit-bound stack", async () => {
    const two = (s: AsyncStack, log: string[]): void => {
      s.defer(() => log.push("cleanup 1"));
      s.defer(() => log.push("cleanup 2"));
    };
    assert.deepEqual(
      await ticks(() => defer({ exit: true }), two),
      await ticks(() => new AsyncDisposableStack(), two),
    );
  });
});
