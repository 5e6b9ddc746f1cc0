// Small helpers shared by the test files.
import assert from "node:assert/strict";

/** Calls `fn` and returns what it threw; fails if it returned. */
export function thrown(fn: () => unknown): unknown {
  try {
    fn();
  } catch (e) {
    return e;
  }
  assert.fail("expected a throw");
}

/** Awaits `promise` and returns its rejection reason; fails if it fulfilled. */
export async function rejected(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (e) {
    return e;
  }
  assert.fail("expected a rejection");
}

/** A plain picture of an error chain: messages, SuppressedErrors as pairs. */
export type Chain = string | { error: Chain; suppressed: Chain };

/** Turns a thrown value into a {@linkcode Chain} for deepEqual. */
export function chain(e: unknown): Chain {
  if (
    e instanceof Error && e.name === "SuppressedError" &&
    "error" in e && "suppressed" in e
  ) {
    return { error: chain(e.error), suppressed: chain(e.suppressed) };
  }
  return e instanceof Error ? e.message : `non-error ${String(e)}`;
}

/** A disposable that logs its name to `log` when disposed. */
export function resource(log: string[], name: string): Disposable {
  return {
    [Symbol.dispose]() {
      log.push(name);
    },
  };
}

/**
 * Runs a full garbage collection: `--expose-gc` on Node (Deno:
 * `--v8-flags=--expose-gc`), `Bun.gc` on Bun.
 */
export function forceGc(): void {
  const g = globalThis as {
    gc?: () => void;
    Bun?: { gc(sync: boolean): void };
  };
  if (g.gc) g.gc();
  else if (g.Bun) g.Bun.gc(true);
  else throw new Error("run with --expose-gc (Deno: --v8-flags=--expose-gc)");
}

/** `promise`, or a failure after `ms`: a test that would hang fails instead. */
export async function within<T>(ms: number, promise: Promise<T>): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new Error(`still waiting after ${ms} ms`)),
      ms,
    );
  });
  try {
    return await Promise.race([promise, late]);
  } finally {
    clearTimeout(timer);
  }
}
