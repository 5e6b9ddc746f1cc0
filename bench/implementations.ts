/**
 * The stacks the benchmarks compare, behind one small interface, and the
 * scenarios they run. Shared by `defer_bench.ts` (deno bench) and
 * `driver.ts` (mitata, on Node and Bun), so every runtime runs the same code.
 *
 * @module
 */

import { defer } from "../mod.ts";

/** The part of a synchronous stack the scenarios use. */
export interface SyncStack {
  defer(fn: () => void): unknown;
  use(value: Disposable): unknown;
  dispose(): void;
  move(): SyncStack;
}

/** The part of an asynchronous stack the scenarios use. */
export interface AsyncStack {
  use(value: AsyncDisposable): unknown;
  disposeAsync(): Promise<void>;
}

/** One implementation under test. */
export interface Implementation {
  name: string;
  makeSync: () => SyncStack;
  makeAsync: () => AsyncStack;
  /** Largest N worth running: the `disposablestack` polyfill is quadratic. */
  maxN: number;
}

type Globals = Record<string, unknown>;
const globals = globalThis as unknown as Globals;
const NativeSync = globals.DisposableStack as (new () => SyncStack) | undefined;
const NativeAsync = globals.AsyncDisposableStack as
  | (new () => AsyncStack)
  | undefined;

/**
 * core-js-pure hands out the runtime's own stack when there is one. To
 * measure core-js's implementation, load it while the globals are hidden.
 */
async function loadCoreJs(): Promise<
  [new () => SyncStack, new () => AsyncStack]
> {
  const names = ["DisposableStack", "AsyncDisposableStack", "SuppressedError"];
  const saved = names.map((n) => globals[n]);
  for (const n of names) delete globals[n];
  try {
    const sync = await import("core-js-pure/actual/disposable-stack/index.js");
    const async = await import(
      "core-js-pure/actual/async-disposable-stack/index.js"
    );
    return [sync.default, async.default];
  } finally {
    names.forEach((n, i) => {
      if (saved[i] !== undefined) globals[n] = saved[i];
    });
  }
}

const [CoreSync, CoreAsync] = await loadCoreJs();
const { default: ShimSync } = await import(
  "disposablestack/DisposableStack/implementation"
);
const { default: ShimAsync } = await import(
  "disposablestack/AsyncDisposableStack/implementation"
);

/** Every implementation available on this runtime. */
export const implementations: Implementation[] = [
  { name: "defer()", makeSync: defer, makeAsync: defer, maxN: Infinity },
  ...(NativeSync && NativeAsync
    ? [{
      name: "native",
      makeSync: () => new NativeSync(),
      makeAsync: () => new NativeAsync(),
      maxN: Infinity,
    }]
    : []),
  {
    name: "core-js-pure",
    makeSync: () => new CoreSync(),
    makeAsync: () => new CoreAsync(),
    maxN: Infinity,
  },
  {
    name: "disposablestack",
    makeSync: () => new ShimSync() as SyncStack,
    makeAsync: () => new ShimAsync() as AsyncStack,
    maxN: 1_000,
  },
];

// deno-lint-ignore no-explicit-any
const sink: any[] = [];
const noop = (): void => {};
const asyncNoop = (): void => {};

/** `n` distinct disposables, made once so creating them is not timed. */
function disposables(n: number): Disposable[] {
  return Array.from({ length: n }, () => ({ [Symbol.dispose]: noop }));
}

function asyncDisposables(n: number): AsyncDisposable[] {
  return Array.from(
    { length: n },
    () => ({ [Symbol.asyncDispose]: asyncNoop }) as unknown as AsyncDisposable,
  );
}

/** One benchmark: a group, the implementation, and the function to time. */
export interface Case {
  group: string;
  /** The scenario's key, for the report. */
  scenario: string;
  n: number;
  impl: string;
  fn: () => void | Promise<void>;
  /** The implementation others in the group are compared with. */
  baseline: boolean;
}

function throwing(rate: number) {
  let i = 0;
  const every = Math.round(1 / rate);
  return (): void => {
    if (++i % every === 0) throw new Error("cleanup failed");
  };
}

/** Builds every case for this runtime. */
export function cases(): Case[] {
  const out: Case[] = [];
  const add = (
    scenario: string,
    n: number,
    impl: string,
    fn: () => void | Promise<void>,
  ) =>
    out.push({
      group: `${scenario} n=${n}`,
      scenario,
      n,
      impl,
      fn,
      baseline: impl === "native",
    });

  for (const n of [1_000, 100_000, 1_000_000]) {
    for (const impl of implementations) {
      if (n > impl.maxN) continue;
      add("defer", n, impl.name, () => {
        const s = impl.makeSync();
        for (let i = 0; i < n; i++) s.defer(noop);
        s.dispose();
      });
    }
    add("defer", n, "floor", () => {
      const fns: (() => void)[] = [];
      for (let i = 0; i < n; i++) fns.push(noop);
      for (let i = fns.length - 1; i >= 0; i--) fns[i]();
    });
  }

  for (const n of [1_000, 100_000, 1_000_000]) {
    const values = disposables(n);
    for (const impl of implementations) {
      if (n > impl.maxN) continue;
      add("use", n, impl.name, () => {
        const s = impl.makeSync();
        for (let i = 0; i < n; i++) s.use(values[i]);
        s.dispose();
      });
    }
    add("use", n, "floor", () => {
      const used: Disposable[] = [];
      for (let i = 0; i < n; i++) used.push(values[i]);
      for (let i = used.length - 1; i >= 0; i--) used[i][Symbol.dispose]();
    });
  }

  for (const n of [1_000, 100_000]) {
    const values = asyncDisposables(n);
    for (const impl of implementations) {
      if (n > impl.maxN) continue;
      add("async", n, impl.name, async () => {
        const s = impl.makeAsync();
        for (let i = 0; i < n; i++) s.use(values[i]);
        await s.disposeAsync();
      });
    }
    add("async", n, "floor", async () => {
      const used: AsyncDisposable[] = [];
      for (let i = 0; i < n; i++) used.push(values[i]);
      for (let i = used.length - 1; i >= 0; i--) {
        await used[i][Symbol.asyncDispose]();
      }
    });
  }

  const n = 10_000;
  for (const rate of [0.01, 1]) {
    const scenario = `throwing ${rate * 100}%`;
    for (const impl of implementations) {
      if (n > impl.maxN) continue;
      add(scenario, n, impl.name, () => {
        const s = impl.makeSync();
        const fail = throwing(rate);
        for (let i = 0; i < n; i++) s.defer(fail);
        try {
          s.dispose();
        } catch (e) {
          sink[0] = e;
        }
      });
    }
  }

  // Release is an extension: only defer() and the floor can do it.
  const m = 1_000_000;
  add("churn", m, "defer()", () => {
    const s = defer();
    s.defer(noop);
    for (let i = 0; i < m; i++) s.defer(noop).release();
    s.dispose();
  });
  add("churn", m, "floor", () => {
    const fns: ((() => void) | undefined)[] = [noop];
    for (let i = 0; i < m; i++) {
      fns.push(noop);
      fns.pop();
    }
    for (let i = fns.length - 1; i >= 0; i--) fns[i]?.();
  });
  add("release half", m, "defer()", () => {
    const s = defer();
    const handles = [];
    for (let i = 0; i < m; i++) handles.push(s.defer(noop));
    for (let i = 0; i < m; i += 2) handles[i].release();
    s.dispose();
  });
  add("release half", m, "floor", () => {
    const fns: ((() => void) | undefined)[] = [];
    for (let i = 0; i < m; i++) fns.push(noop);
    for (let i = 0; i < m; i += 2) fns[i] = undefined;
    for (let i = fns.length - 1; i >= 0; i--) fns[i]?.();
  });

  for (const size of [10, 1_000_000]) {
    for (const impl of implementations) {
      if (size > impl.maxN) continue;
      let s = impl.makeSync();
      for (let i = 0; i < size; i++) s.defer(noop);
      add("move", size, impl.name, () => {
        s = s.move();
      });
    }
  }
  return out;
}
