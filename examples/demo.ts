/**
 * A tour of `@cleanup/defer`: run with `deno task demo`.
 *
 * Each part prints what happens, in the order it happens, so the cleanup
 * order, the handles and the error chaining can be seen.
 */
import { defer, type DeferStack, scope } from "../mod.ts";

function open(name: string): Disposable & { name: string } {
  console.log(`  open ${name}`);
  return {
    name,
    [Symbol.dispose]() {
      console.log(`  close ${name}`);
    },
  };
}

function heading(text: string): void {
  console.log(`\n${text}`);
}

heading("1. Cleanups run last-in, first-out when the block ends:");
{
  using d = defer();
  d.use(open("database"));
  d.use(open("index file"));
  d.defer((who: string) => console.log(`  unregister ${who}`), "client 7");
  console.log("  ...working...");
}

heading("2. Arguments are bound at registration, even in a var loop:");
{
  using d = defer();
  // deno-lint-ignore no-var no-inner-declarations
  for (var i = 1; i <= 3; i++) {
    d.defer((n: number) => console.log(`  remove temp file ${n}`), i);
  }
  console.log(`  the loop variable is now ${i}`);
}

heading("3. One entry released, one run early (and only once):");
{
  using d = defer();
  const keep = d.defer(() => console.log("  delete upload (never printed)"));
  const flush = d.defer(() => console.log("  flush log"));
  d.defer(() => console.log("  close socket"));
  console.log(`  release upload cleanup: ${keep.release()}`);
  flush.dispose();
  console.log(`  flush still pending: ${flush.pending}`);
}

heading("4. Release on success: cleanups run only if setup fails:");
function openPair(fail: boolean): Disposable[] | null {
  using d = defer();
  const db = d.use(open("a.db"));
  const index = d.use(open("a.idx"));
  if (fail) {
    console.log("  setup failed: everything opened so far is closed");
    return null;
  }
  console.log("  setup succeeded: release, so both stay open");
  d.release();
  return [db, index];
}
openPair(true);
const pair = openPair(false) ?? [];
console.log("  ...the caller uses them, then closes them itself:");
for (const r of pair.reverse()) r[Symbol.dispose]();

heading("5. move() hands the cleanups to a longer-lived owner:");
function connect(): DeferStack {
  using d = defer();
  d.use(open("socket"));
  d.defer(() => console.log("  say goodbye"));
  return d.move(); // nothing runs here: the entries moved
}
const owner = connect();
console.log(`  owner holds ${owner.size} cleanups; disposing it:`);
owner.dispose();

heading("6. Every cleanup runs even when some throw; errors are chained:");
try {
  using d = defer();
  d.defer(() => {
    throw new Error("e1 (registered first)");
  });
  d.defer(() => console.log("  this one still runs"));
  d.defer(() => {
    throw new Error("e3 (registered last)");
  });
} catch (e) {
  const s = e as { error: Error; suppressed: Error };
  console.log(`  caught ${(e as Error).name}`);
  console.log(`    error:      ${s.error.message}`);
  console.log(`    suppressed: ${s.suppressed.message}`);
}

heading("7. await using awaits async cleanups one after another:");
{
  await using d = defer();
  d.defer(async () => {
    await new Promise((resolve) => setTimeout(resolve, 10));
    console.log("  connection closed (after 10 ms)");
  });
  d.use({
    async [Symbol.asyncDispose]() {
      await new Promise((resolve) => setTimeout(resolve, 10));
      console.log("  buffer flushed (after 10 ms)");
    },
  });
  console.log("  ...working...");
}
heading("8. scope() without using syntax; onFailure() runs only on failure:");
for (const ok of [true, false]) {
  try {
    scope((d) => {
      console.log(`  BEGIN (this transaction will ${ok ? "succeed" : "fail"})`);
      d.defer(() => console.log("  close connection"));
      d.onFailure(() => console.log("  ROLLBACK"));
      if (!ok) throw new Error("constraint violated");
      console.log("  COMMIT");
    });
  } catch (e) {
    console.log(`  caught: ${(e as Error).message}`);
  }
}
console.log("\nDone.");
