// A Node 26 / Bun consumer in plain JavaScript with native `using` syntax,
// importing the package as JSR's npm layer serves it.
import assert from "node:assert/strict";
import process from "node:process";
import { defer, SuppressedError } from "@cleanup/defer";

const log = [];
{
  using d = defer();
  d.defer((name) => log.push(`close ${name}`), "a");
  d.use({ [Symbol.dispose]: () => log.push("close b") });
}
assert.deepEqual(log, ["close b", "close a"], "cleanups run LIFO");

function acquire(fail) {
  using d = defer();
  d.defer(() => log.push("undo"));
  if (fail) throw new Error("setup failed");
  d.release();
  return "kept";
}
log.length = 0;
assert.equal(acquire(false), "kept");
assert.deepEqual(log, [], "release() on success keeps everything");
assert.throws(() => acquire(true), /setup failed/);
assert.deepEqual(log, ["undo"], "cleanups run on failure");

const e = (() => {
  try {
    using d = defer();
    d.defer(() => {
      throw new Error("cleanup");
    });
    throw new Error("body");
  } catch (error) {
    return error;
  }
})();
assert.ok(e instanceof SuppressedError, "errors chain as SuppressedError");
assert.equal(e.error.message, "cleanup");
assert.equal(e.suppressed.message, "body");

log.length = 0;
{
  await using d = defer();
  d.defer(async () => {
    await null;
    log.push("async cleanup");
  });
  d.defer(() => log.push("sync cleanup"));
}
assert.deepEqual(log, ["sync cleanup", "async cleanup"], "await using awaits");
const runtime = globalThis.Bun
  ? `Bun ${globalThis.Bun.version}`
  : `Node ${process.versions.node}`;
console.log(`syntax consumer on ${runtime}: ok`);
