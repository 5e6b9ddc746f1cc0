/**
 * The stacks the benchmarks compare, behind one small interface.
 *
 * @module
 */

import { defer } from "../../mod.ts";

/** The part of a synchronous stack the scenarios use. */
export interface SyncStack {
  defer(fn: () => void): unknown;
  use(value: Disposable): unknown;
  adopt<T>(value: T, onDispose: (value: T) => void): unknown;
  dispose(): void;
  move(): SyncStack;
}

/** The part of an asynchronous stack the scenarios use. */
export interface AsyncStack {
  defer(fn: () => void): unknown;
  use(value: AsyncDisposable): unknown;
  adopt<T>(value: T, onDispose: (value: T) => void): unknown;
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
// The polyfill ships no types: what TypeScript infers from its JavaScript
// (with @types/node installed) lacks the methods, so its stacks are cast.
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
    makeSync: () => new ShimSync() as unknown as SyncStack,
    makeAsync: () => new ShimAsync() as unknown as AsyncStack,
    maxN: 1_000,
  },
];
