// A TypeScript consumer: `using` and `await using` are down-levelled by the
// compiler (tsc or esbuild) for Node 22, and the types are checked by the
// consumer's own tsc. Deno type-checks it too, through the import map.
import assert from "node:assert/strict";
import process from "node:process";
import {
  defer,
  type DeferHandle,
  scope,
  SuppressedError,
} from "@cleanup/defer";

// defer() must type-check as both standard stacks.
const asSync: DisposableStack = defer();
const asAsync: AsyncDisposableStack = defer();
asSync.dispose();
await asAsync.disposeAsync();

const log: string[] = [];
function openPair(fail: boolean): string[] | null {
  using d = defer();
  const handle: DeferHandle = d.defer(
    (n: string) => log.push(`close ${n}`),
    "a",
  );
  d.defer((n: string) => log.push(`close ${n}`), "b");
  if (fail) return null;
  handle.release();
  d.release();
  return ["a", "b"];
}
assert.equal(openPair(true), null);
assert.deepEqual(log, ["close b", "close a"], "cleanups run LIFO");
log.length = 0;
assert.deepEqual(openPair(false), ["a", "b"], "release on success");
assert.deepEqual(log, []);

let caught: unknown;
try {
  using d = defer();
  d.defer(() => {
    throw new Error("cleanup");
  });
  throw new Error("body");
} catch (e) {
  caught = e;
}
// The block's error and the stack's are combined by the compiler's `using`
// helper, which on Node 22 (no global SuppressedError) builds its own
// SuppressedError-shaped error: check the shape.
const combined = caught as { name: string; error: Error; suppressed: Error };
assert.equal(combined.name, "SuppressedError");
assert.equal(combined.error.message, "cleanup");
assert.equal(combined.suppressed.message, "body");

// Errors chained by the stack itself are the package's SuppressedError.
const stack = defer();
stack.defer(() => {
  throw new Error("e1");
});
stack.defer(() => {
  throw new Error("e2");
});
let chained: unknown;
try {
  stack.dispose();
} catch (e) {
  chained = e;
}
assert.ok(
  chained instanceof SuppressedError,
  "errors chain as SuppressedError",
);
assert.equal((chained.error as Error).message, "e1");
assert.equal((chained.suppressed as Error).message, "e2");

const asyncLog: string[] = [];
{
  await using d = defer();
  d.defer(async () => {
    await null;
    asyncLog.push("async cleanup");
  });
}
assert.deepEqual(asyncLog, ["async cleanup"]);

// The leak check says where a forgotten stack was created, bundled too
// (where this package shares the application's file).
const leaks: string[] = [];
function openAndForget(): void {
  const d = defer({ leakCheck: (report) => leaks.push(report.createdAt) });
  d.defer(() => {});
  (globalThis as Record<string, unknown>).forgotten = d;
}
openAndForget();
let finished = false;
// Reports of stacks still open come as the process ends.
process.on("exit", () => {
  assert.match(leaks[0] ?? "no report", /openAndForget/);
  if (finished) {
    console.log(`typed consumer on Node ${process.versions.node}: ok`);
  }
});

const n: number = scope(() => 1);
const p: Promise<string> = scope(async () => "x");
assert.equal(n, 1);
assert.equal(await p, "x");
finished = true;
