/**
 * Bytes per pending entry: heap in use after registering 10^6 entries,
 * minus before, with a full collection before each reading. Prints JSON.
 * Needs a collectable heap: `node --expose-gc`, `deno run
 * --v8-flags=--expose-gc`, or Bun.
 *
 * @module
 */
import process from "node:process";
import { defer } from "../../mod.ts";
import { collect, runtimeInfo } from "./runtime.ts";

const N = 1_000_000;
const noop = (): void => {};

function heap(): number {
  collect();
  collect();
  return process.memoryUsage().heapUsed;
}

/** Heap growth per entry while what `fill` returns is kept alive. */
function perEntry(fill: () => unknown): number {
  const before = heap();
  const kept = fill();
  const after = heap();
  if (kept === undefined) throw new Error("nothing kept");
  return (after - before) / N;
}

interface Stack {
  defer(fn: () => void): unknown;
  use(value: Disposable): unknown;
}
const globals = globalThis as unknown as Record<string, new () => Stack>;
const Native = globals.DisposableStack;

// The disposables exist before the first reading: only entries are counted.
const values = Array.from({ length: N }, () => ({ [Symbol.dispose]: noop }));

const cases: Record<string, () => unknown> = {
  // What holding on to 10^6 of anything costs the caller; subtracted from
  // "handles kept" in the report, since native has no handles to keep.
  "caller's array of references": () => {
    const refs = [];
    for (let i = 0; i < N; i++) refs.push(values);
    return refs;
  },
  "defer(): defer(fn), handles dropped": () => {
    const s = defer();
    for (let i = 0; i < N; i++) s.defer(noop);
    return s;
  },
  "defer(): defer(fn), handles kept": () => {
    const s = defer();
    const handles = [];
    for (let i = 0; i < N; i++) handles.push(s.defer(noop));
    return [s, handles];
  },
  "defer(): use(value)": () => {
    const s = defer();
    for (let i = 0; i < N; i++) s.use(values[i]);
    return s;
  },
};
if (Native) {
  cases["native: defer(fn)"] = () => {
    const s = new Native();
    for (let i = 0; i < N; i++) s.defer(noop);
    return s;
  };
  cases["native: use(value)"] = () => {
    const s = new Native();
    for (let i = 0; i < N; i++) s.use(values[i]);
    return s;
  };
}

const runtime = runtimeInfo();

const results: Record<string, number> = {};
for (const [name, fill] of Object.entries(cases)) {
  perEntry(fill); // warm up, so code and caches are not counted
  results[name] = Math.round(perEntry(fill) * 10) / 10;
  process.stderr.write(`${name.padEnd(40)} ${results[name]} bytes/entry\n`);
}
console.log(JSON.stringify({ runtime, n: N, bytesPerEntry: results }, null, 2));
