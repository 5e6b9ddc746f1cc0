// A Node 22 consumer in plain JavaScript without `using` syntax: explicit
// Symbol.dispose / Symbol.asyncDispose calls and scope(). On Node 22 this is
// the path without a native DisposableStack or SuppressedError.
import assert from "node:assert/strict";
import process from "node:process";
import { defer, scope, SuppressedError } from "@cleanup/defer";

const log = [];
const d = defer();
d.defer((name) => log.push(`close ${name}`), "a");
d.use({ [Symbol.dispose]: () => log.push("close b") });
d[Symbol.dispose]();
assert.deepEqual(log, ["close b", "close a"], "cleanups run LIFO");

log.length = 0;
const kept = scope((s) => {
  s.defer(() => log.push("always"));
  s.onFailure(() => log.push("rollback"));
  return "done";
});
assert.equal(kept, "done");
assert.deepEqual(log, ["always"], "scope() commits on success");

const failing = defer();
failing.defer(() => {
  throw new Error("e1");
});
failing.defer(() => {
  throw new Error("e2");
});
let e;
try {
  failing.dispose();
} catch (error) {
  e = error;
}
assert.ok(e instanceof SuppressedError, "errors chain as SuppressedError");
assert.equal(e.error.message, "e1");
assert.equal(e.suppressed.message, "e2");

log.length = 0;
const a = defer();
a.defer(async () => {
  await null;
  log.push("async cleanup");
});
a.defer(() => log.push("sync cleanup"));
await a[Symbol.asyncDispose]();
assert.deepEqual(log, ["sync cleanup", "async cleanup"], "disposeAsync awaits");
const runtime = globalThis.Bun
  ? `Bun ${globalThis.Bun.version}`
  : `Node ${process.versions.node}`;
console.log(`plain consumer on ${runtime}: ok`);
