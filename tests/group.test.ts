// Concurrent disposal groups (#12): d.group() and d.group({ limit }).
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { defer, DisposeTimeoutError, SuppressedError } from "../mod.ts";
import { type Chain, chain, rejected, thrown, within } from "./helpers.ts";

const sleep = (ms: number): Promise<void> =>
  new Promise((resolve) => setTimeout(resolve, ms));
const never = (): Promise<void> => new Promise(() => {});

/** A promise and the function that resolves it. */
function signal(): { promise: Promise<void>; fire: () => void } {
  let fire = (): void => {};
  const promise = new Promise<void>((resolve) => (fire = resolve));
  return { promise, fire };
}

describe("d.group() under disposeAsync()", () => {
  it("starts every member before awaiting any: a member waiting for another to start finishes", async () => {
    const d = defer();
    const g = d.group();
    const olderStarted = signal();
    const log: string[] = [];
    g.defer(async () => {
      olderStarted.fire();
      log.push("older done");
    });
    // Started first (newest first), it waits for the older member to
    // start: one after another, this would never finish.
    g.defer(async () => {
      await olderStarted.promise;
      log.push("newer done");
    });
    await within(2_000, d.disposeAsync());
    assert.deepEqual(log, ["older done", "newer done"]);
  });

  it("starts the members newest first", async () => {
    const started: number[] = [];
    const d = defer();
    const g = d.group();
    for (let i = 0; i < 5; i++) {
      g.defer(async (n: number) => void started.push(n), i);
    }
    await d.disposeAsync();
    assert.deepEqual(started, [4, 3, 2, 1, 0]);
  });

  it("goes on to the parent's older entries only once every member has settled", async () => {
    const log: string[] = [];
    const d = defer();
    d.defer(() => log.push("older entry of the parent"));
    const g = d.group();
    g.defer(async () => {
      await sleep(30);
      log.push("slow member");
    });
    g.defer(async () => {
      await sleep(5);
      log.push("fast member");
    });
    d.defer(() => log.push("newer entry of the parent"));
    await d.disposeAsync();
    assert.deepEqual(log, [
      "newer entry of the parent",
      "fast member",
      "slow member",
      "older entry of the parent",
    ]);
  });

  it("overlaps the members' waits: 20 members of 30 ms take far less than 600 ms", async () => {
    const d = defer();
    const g = d.group();
    for (let i = 0; i < 20; i++) g.defer(() => sleep(30));
    const start = Date.now();
    await d.disposeAsync();
    assert.ok(Date.now() - start < 400, `took ${Date.now() - start} ms`);
  });

  it("chains errors in the order a stack would, whichever settles first", async () => {
    const members = (add: (fn: () => unknown) => void): void => {
      add(async () => {
        await sleep(20);
        throw new Error("1: oldest, settles last");
      });
      add(async () => {
        await sleep(1);
        throw new Error("2: settles first");
      });
      add(async () => {
        await sleep(10);
        throw new Error("3: newest, settles second");
      });
    };
    const d = defer();
    const g = d.group();
    members((fn) => g.defer(fn));
    const reference = defer();
    members((fn) => reference.defer(fn));
    const got = await rejected(d.disposeAsync());
    const expected = await rejected(reference.disposeAsync());
    assert.ok(got instanceof SuppressedError);
    assert.deepEqual(chain(got), chain(expected));
    assert.deepEqual(chain(got), {
      error: "1: oldest, settles last",
      suppressed: {
        error: "2: settles first",
        suppressed: "3: newest, settles second",
      },
    });
  });

  it("fails a member whose result has a then getter that throws, as await would", async () => {
    const d = defer();
    d.group().defer(() => ({
      get then(): never {
        throw new Error("then getter");
      },
    }));
    const e = await rejected(d.disposeAsync());
    assert.equal((e as Error).message, "then getter");
  });

  it("fails a member whose promise's then throws, and still runs and chains the others", async () => {
    class Broken extends Promise<void> {
      static override get [Symbol.species](): never {
        throw new Error("species threw");
      }
    }
    const log: string[] = [];
    const d = defer();
    const g = d.group();
    g.defer(() => void log.push("older ran"));
    g.defer(() => Broken.resolve());
    g.defer(async () => {
      throw new Error("newest failed");
    });
    const e = await within(2000, rejected(d.disposeAsync()));
    assert.deepEqual(log, ["older ran"]);
    assert.deepEqual(chain(e), {
      error: "species threw",
      suppressed: "newest failed",
    });
  });

  it("fails a member that returns a proxy of a promise, as await would, and still runs the others, whatever the proxy's traps do", async () => {
    const log: string[] = [];
    const d = defer();
    const g = d.group();
    g.defer(() => void log.push("older ran"));
    g.defer(() =>
      new Proxy(Promise.resolve(), {
        getPrototypeOf() {
          throw new Error("getPrototypeOf trap");
        },
      })
    );
    const e = await within(2000, rejected(d.disposeAsync()));
    assert.deepEqual(log, ["older ran"]);
    assert.ok(e instanceof TypeError);
  });

  it("rejects with a member's error as it is when only one fails", async () => {
    const error = new Error("only one");
    const d = defer();
    const g = d.group();
    g.defer(async () => {});
    g.defer(async () => {
      throw error;
    });
    assert.equal(await rejected(d.disposeAsync()), error);
  });

  it("counts a synchronous throw as that member's failure and still starts the others", async () => {
    const log: string[] = [];
    const d = defer();
    const g = d.group();
    g.defer(async () => void log.push("older ran"));
    g.defer(() => {
      throw new Error("sync throw");
    });
    g.defer(async () => {
      throw new Error("newest rejects");
    });
    const e = await rejected(d.disposeAsync());
    assert.deepEqual(log, ["older ran"]);
    assert.deepEqual(chain(e), {
      error: "sync throw",
      suppressed: "newest rejects",
    });
  });

  it("ignores what a Symbol.dispose fallback returns, but not what it throws", async () => {
    const d = defer();
    const g = d.group();
    // Not awaited: a promise that never settles does not hold the group.
    g.use({ [Symbol.dispose]: () => never() });
    g.use({
      [Symbol.dispose]() {
        throw new Error("thrown by the fallback");
      },
    });
    assert.deepEqual(
      chain(await rejected(within(2_000, d.disposeAsync()))),
      "thrown by the fallback",
    );
  });

  it("prefers Symbol.asyncDispose and adopts a value with its cleanup", async () => {
    const log: string[] = [];
    const d = defer();
    const g = d.group();
    g.use({
      [Symbol.dispose]: () => log.push("sync method: must not run"),
      [Symbol.asyncDispose]: async () => void log.push("async method"),
    });
    g.adopt("file", async (name) => void log.push(`closed ${name}`));
    await d.disposeAsync();
    assert.deepEqual(log.sort(), ["async method", "closed file"]);
  });

  it("is one entry of its parent, at the place it was made", async () => {
    const log: string[] = [];
    const d = defer();
    d.defer(() => log.push("before"));
    const g = d.group();
    d.defer(() => log.push("after"));
    g.defer(() => log.push("member"));
    assert.equal(d.size, 3);
    await d.disposeAsync();
    assert.deepEqual(log, ["after", "member", "before"]);
  });
});

describe("d.group({ limit })", () => {
  it("never runs more than limit members at once", async () => {
    let running = 0;
    let most = 0;
    const d = defer();
    const g = d.group({ limit: 3 });
    for (let i = 0; i < 12; i++) {
      g.defer(async (ms: number) => {
        running++;
        most = Math.max(most, running);
        await sleep(ms);
        running--;
      }, 2 + (i % 4) * 3);
    }
    await d.disposeAsync();
    assert.equal(most, 3);
    assert.equal(g.limit, 3);
  });

  it("starts the next member as soon as one settles, newest first", async () => {
    const log: string[] = [];
    const d = defer();
    const g = d.group({ limit: 2 });
    g.defer(async () => void log.push("c started"));
    g.defer(async () => {
      await sleep(40);
      log.push("b settled");
    });
    g.defer(async () => {
      await sleep(5);
      log.push("a settled");
    });
    await d.disposeAsync();
    // a (newest) and b start; c starts when a settles, long before b.
    assert.deepEqual(log, ["a settled", "c started", "b settled"]);
  });

  it("does not count a member that finished synchronously against the limit", async () => {
    const log: string[] = [];
    const d = defer();
    const g = d.group({ limit: 1 });
    g.defer(async () => void log.push("async"));
    g.defer(() => void log.push("sync 2"));
    g.defer(() => void log.push("sync 1"));
    await d.disposeAsync();
    assert.deepEqual(log, ["sync 1", "sync 2", "async"]);
  });

  it("accepts Infinity and any positive integer", () => {
    const d = defer();
    assert.equal(d.group({ limit: Infinity }).limit, Infinity);
    assert.equal(d.group({ limit: 1 }).limit, 1);
    assert.equal(d.group().limit, Infinity);
    assert.equal(d.group({}).limit, Infinity);
  });

  for (const bad of [0, -1, 1.5, NaN, -Infinity]) {
    it(`rejects limit ${bad} with a RangeError at the call, registering nothing`, () => {
      const d = defer();
      const e = thrown(() => d.group({ limit: bad })) as Error;
      assert.ok(e instanceof RangeError);
      assert.match(
        e.message,
        /DeferStack\.group\(\): options\.limit must be a positive integer or Infinity/,
      );
      assert.equal(d.size, 0);
    });
  }

  it("rejects a limit that is not a number, or options that are not an object, with a TypeError", () => {
    const d = defer();
    const e = thrown(() =>
      d.group({ limit: "4" as unknown as number })
    ) as Error;
    assert.ok(e instanceof TypeError);
    assert.equal(
      e.message,
      'DeferStack.group(): options.limit must be a number, got the string "4"',
    );
    assert.throws(() => d.group(3 as unknown as object), TypeError);
    assert.throws(() => d.group(null as unknown as object), TypeError);
    assert.equal(d.size, 0);
  });
});

describe("members' handles", () => {
  it("a member released before disposal never runs", async () => {
    const log: string[] = [];
    const d = defer();
    const g = d.group();
    g.defer(() => log.push("kept"));
    const h = g.defer(() => log.push("released"));
    assert.equal(h.release(), true);
    assert.equal(g.size, 1);
    await d.disposeAsync();
    assert.deepEqual(log, ["kept"]);
  });

  it("a member not yet started (with a limit) can be released while the group is disposed", async () => {
    const log: string[] = [];
    const d = defer();
    const g = d.group({ limit: 1 });
    const later = g.defer(() => log.push("released: must not run"));
    g.defer(async () => {
      await sleep(1);
      assert.equal(later.pending, true);
      assert.equal(later.release(), true);
      log.push("first");
    });
    await d.disposeAsync();
    assert.deepEqual(log, ["first"]);
  });

  it("a member is no longer pending once started: without a limit, all start at once", async () => {
    const d = defer();
    const g = d.group();
    const older = g.defer(async () => {});
    let seen: boolean[] = [];
    const newer = g.defer(async () => {
      await null;
      seen = [older.pending, newer.pending, older.release()];
    });
    await d.disposeAsync();
    assert.deepEqual(seen, [false, false, false]);
  });

  it("a member run early through its handle does not run again", async () => {
    let calls = 0;
    const d = defer();
    const g = d.group();
    const h = g.defer(async () => void calls++);
    await h.dispose();
    assert.equal(h.pending, false);
    await d.disposeAsync();
    assert.equal(calls, 1);
  });

  it("release() drops every pending member and keeps the group open", async () => {
    const log: string[] = [];
    const d = defer();
    const g = d.group();
    const h = g.defer(() => log.push("dropped"));
    g.use({ [Symbol.dispose]: () => log.push("dropped too") });
    assert.equal(g.release(), 2);
    assert.equal(h.pending, false);
    g.defer(() => log.push("added after"));
    assert.equal(g.size, 1);
    await d.disposeAsync();
    assert.deepEqual(log, ["added after"]);
  });
});

describe("failure-only members", () => {
  it("run when nothing was committed", async () => {
    const log: string[] = [];
    const d = defer();
    const g = d.group();
    g.onFailure(async (what: string) => void log.push(what), "rollback");
    await d.disposeAsync();
    assert.deepEqual(log, ["rollback"]);
  });

  it("are released by the group's commit()", async () => {
    const log: string[] = [];
    const d = defer();
    const g = d.group();
    const h = g.onFailure(() => log.push("rollback"));
    g.defer(() => log.push("close"));
    assert.equal(g.commit(), 1);
    assert.equal(h.pending, false);
    await d.disposeAsync();
    assert.deepEqual(log, ["close"]);
  });

  it("are released by the parent's commit(), nested groups included, and counted", async () => {
    const log: string[] = [];
    const d = defer();
    d.onFailure(() => log.push("parent rollback"));
    const g = d.group();
    g.onFailure(() => log.push("group rollback"));
    g.group().onFailure(() => log.push("nested rollback"));
    assert.equal(d.commit(), 3);
    await d.disposeAsync();
    assert.deepEqual(log, []);
  });
});

describe("a group under the parent's synchronous dispose()", () => {
  it("runs the members one after another, newest first", () => {
    const log: string[] = [];
    const d = defer();
    d.defer(() => log.push("parent"));
    const g = d.group();
    g.defer(() => log.push("member 1"));
    g.use({ [Symbol.dispose]: () => log.push("member 2") });
    g.adopt(3, (n) => log.push(`member ${n}`));
    d.dispose();
    assert.deepEqual(log, ["member 3", "member 2", "member 1", "parent"]);
  });

  it("chains errors as the stack's dispose() does", () => {
    const d = defer();
    const g = d.group();
    for (const n of [1, 2, 3]) {
      g.defer(() => {
        throw new Error(`e${n}`);
      });
    }
    assert.deepEqual(chain(thrown(() => d.dispose())), {
      error: "e1",
      suppressed: { error: "e2", suppressed: "e3" },
    });
  });

  it("throws the TypeError for async work it cannot await, and handles the promise's rejection", async () => {
    const log: string[] = [];
    const d = defer();
    const g = d.group();
    g.defer(() => log.push("still runs"));
    g.defer(() => Promise.reject(new Error("late")));
    g.use({ [Symbol.asyncDispose]: async () => {} });
    const e = thrown(() => d.dispose());
    assert.ok(e instanceof SuppressedError);
    const { error, suppressed } = e as SuppressedError;
    assert.ok(error instanceof TypeError);
    assert.match((error as Error).message, /returned a promise.*await using/);
    assert.ok(suppressed instanceof TypeError);
    assert.match((suppressed as Error).message, /only Symbol\.asyncDispose/);
    assert.deepEqual(log, ["still runs"]);
    await sleep(0); // no unhandled rejection
  });
});

describe("the group's life", () => {
  it("is not made when reading its limit disposed the stack or the group", () => {
    const d = defer();
    assert.throws(
      () =>
        d.group({
          get limit() {
            d.dispose();
            return 2;
          },
        }),
      ReferenceError,
    );
    const e = defer();
    const g = e.group();
    assert.throws(
      () =>
        g.group({
          get limit() {
            g.dispose();
            return 2;
          },
        }),
      ReferenceError,
    );
    assert.equal(defer().size, 0);
  });

  it("rejects registration with a ReferenceError once its parent is disposed", async () => {
    const d = defer();
    const g = d.group();
    await d.disposeAsync();
    assert.equal(g.disposed, true);
    for (
      const call of [
        () => g.defer(() => {}),
        () => g.use(null),
        () => g.adopt(1, () => {}),
        () => g.onFailure(() => {}),
        () => g.commit(),
        () => g.release(),
        () => g.group(),
      ]
    ) {
      assert.throws(call, ReferenceError);
    }
  });

  it("takes no more members while its parent is being disposed, even before it is reached", () => {
    let error: unknown;
    let disposed: boolean | undefined;
    const d = defer();
    const g = d.group();
    d.defer(() => {
      disposed = g.disposed;
      error = thrown(() => g.defer(() => {}));
    });
    d.dispose();
    assert.equal(disposed, true);
    assert.ok(error instanceof ReferenceError);
    assert.match(
      (error as Error).message,
      /DeferGroup\.defer\(\): the group's stack is already disposed/,
    );
  });

  it("takes no more members in a nested group while the stack is being disposed, at any depth", async () => {
    for (const dispose of ["dispose", "disposeAsync"] as const) {
      const log: string[] = [];
      const seen: unknown[] = [];
      const d = defer();
      const g = d.group();
      const n = g.group();
      const deepest = n.group();
      d.defer(() => {
        seen.push(n.disposed, deepest.disposed);
        seen.push(thrown(() => n.defer(() => log.push("late"))));
        seen.push(thrown(() => deepest.use(null)));
      });
      await d[dispose]();
      assert.deepEqual(seen.slice(0, 2), [true, true], dispose);
      assert.ok(seen[2] instanceof ReferenceError, dispose);
      assert.match(
        (seen[2] as Error).message,
        /DeferGroup\.defer\(\): the group's stack is already disposed/,
      );
      assert.ok(seen[3] instanceof ReferenceError, dispose);
      assert.deepEqual(log, [], dispose);
    }
  });

  it("names DeferGroup and the bad value in registration TypeErrors", () => {
    const g = defer().group();
    assert.throws(() => g.defer(42 as unknown as () => void), {
      name: "TypeError",
      message:
        "DeferGroup.defer(): onDispose must be a function, got the number 42",
    });
    assert.throws(() => g.use(5 as unknown as Disposable), {
      name: "TypeError",
      message:
        "DeferGroup.use(): expected an object with Symbol.dispose or Symbol.asyncDispose, got the number 5",
    });
    assert.throws(() => g.use({} as Disposable), TypeError);
    assert.equal(g.size, 0);
  });

  it("is dropped with its members by the parent's release(): none runs, no handle is pending, nothing more is taken", async () => {
    const log: string[] = [];
    const d = defer();
    const g = d.group();
    const h = g.defer(() => log.push("must not run"));
    const inner = g.group();
    const hi = inner.defer(() => log.push("nested: must not run"));
    assert.equal(d.release(), 1);
    assert.deepEqual([h.pending, hi.pending], [false, false]);
    assert.deepEqual([g.disposed, inner.disposed], [true, true]);
    assert.equal(g.size, 0);
    assert.throws(() => g.defer(() => {}), ReferenceError);
    await d.disposeAsync();
    assert.deepEqual(log, []);
  });

  it("follows its entry into the stack move() returns, and still takes members", async () => {
    const log: string[] = [];
    const d = defer();
    const g = d.group();
    g.defer(async () => void log.push("before move"));
    const owner = d.move();
    assert.equal(d.disposed, true);
    assert.equal(g.disposed, false);
    g.defer(async () => void log.push("after move"));
    await d.disposeAsync(); // the old stack: nothing
    assert.deepEqual(log, []);
    await owner.disposeAsync();
    assert.deepEqual(log, ["after move", "before move"]);
  });

  it("disposed early, does nothing when its parent reaches it", async () => {
    let calls = 0;
    const d = defer();
    const g = d.group();
    g.defer(async () => void calls++);
    await g.disposeAsync();
    assert.equal(g.disposed, true);
    assert.throws(() => g.defer(() => {}), /the group is already disposed/);
    await d.disposeAsync();
    g.dispose();
    assert.equal(calls, 1);
  });

  it("disposed early, is no longer one of its parent's pending entries, below others or on top", async () => {
    const log: string[] = [];
    const d = defer();
    d.defer(() => log.push("older"));
    const below = d.group();
    below.defer(() => log.push("below's member"));
    d.defer(() => log.push("newer"));
    const top = d.group();
    top.defer(() => log.push("top's member"));
    assert.equal(d.size, 4);
    top.dispose();
    assert.equal(d.size, 3);
    await below.disposeAsync();
    assert.equal(d.size, 2);
    d.defer(() => log.push("newest"));
    d.dispose();
    assert.deepEqual(log, [
      "top's member",
      "below's member",
      "newest",
      "newer",
      "older",
    ]);
  });

  it("disposed early while its parent's disposal has not reached it, is not named by the parent's deadline", async () => {
    const log: string[] = [];
    const d = defer();
    d.defer(function older() {
      log.push("older");
    });
    const g = d.group();
    g.defer(() => log.push("member"));
    d.defer(function hangs() {
      return never();
    });
    const parent = d.disposeAsync({ timeout: 30 });
    await null;
    await g.disposeAsync();
    const e = await rejected(within(2_000, parent));
    assert.ok(e instanceof DisposeTimeoutError);
    assert.deepEqual(e.running, ["hangs"]);
    assert.deepEqual(e.notStarted, ["older"]);
    assert.deepEqual(log, ["member"]);
  });

  it("nests: an inner group's members run alongside the outer group's", async () => {
    const d = defer();
    const outer = d.group();
    const innerStarted = signal();
    const log: string[] = [];
    outer.defer(async () => {
      await innerStarted.promise;
      log.push("outer member");
    });
    const inner = outer.group({ limit: 2 });
    for (let i = 0; i < 3; i++) {
      inner.defer(async (n: number) => {
        innerStarted.fire();
        await sleep(2);
        log.push(`inner ${n}`);
      }, i);
    }
    await within(2_000, d.disposeAsync());
    assert.deepEqual(log.sort(), [
      "inner 0",
      "inner 1",
      "inner 2",
      "outer member",
    ]);
  });

  it("passes an inner group's error chain to the outer chain as one member's error", async () => {
    const d = defer();
    const outer = d.group();
    outer.defer(async () => {
      throw new Error("outer");
    });
    const inner = outer.group();
    inner.defer(() => Promise.reject(new Error("inner 1")));
    inner.defer(() => Promise.reject(new Error("inner 2")));
    assert.deepEqual(chain(await rejected(d.disposeAsync())), {
      error: "outer",
      suppressed: { error: "inner 1", suppressed: "inner 2" },
    });
  });

  it("says [object DeferGroup] and has the very same functions for the symbols", () => {
    const g = defer().group();
    assert.equal(Object.prototype.toString.call(g), "[object DeferGroup]");
    assert.equal(g[Symbol.dispose], g.dispose);
    assert.equal(g[Symbol.asyncDispose], g.disposeAsync);
  });
});

describe("a group at a deadline", () => {
  it("names every member still running, and those never started", async () => {
    const log: string[] = [];
    const d = defer();
    d.defer(function closeServer() {
      log.push("closeServer: must not run");
    });
    const g = d.group({ limit: 2 });
    g.defer(function drain3() {
      log.push("drain3: must not run");
    });
    g.defer(function drain2() {
      return never();
    });
    g.defer(function drain1() {
      return never();
    });
    const e = await rejected(d.disposeAsync({ timeout: 30 }));
    assert.ok(e instanceof DisposeTimeoutError);
    assert.deepEqual(e.running, ["drain1", "drain2"]);
    assert.deepEqual(e.notStarted, ["drain3", "closeServer"]);
    assert.match(e.message, /"drain1", "drain2" were still running/);
    assert.deepEqual(log, []);
    assert.equal(g.disposed, true);
  });

  it("starts nothing more once it gave up, even when running members settle", async () => {
    const log: string[] = [];
    const d = defer();
    const g = d.group({ limit: 1 });
    const later = g.defer(() => log.push("must not run"));
    g.defer(() => sleep(40));
    await rejected(d.disposeAsync({ timeout: 10 }));
    assert.equal(later.pending, false);
    await sleep(60);
    assert.deepEqual(log, []);
  });

  it("keeps the errors of members that failed before it gave up, under the stop error", async () => {
    const d = defer();
    const g = d.group();
    g.defer(async function failsFast() {
      throw new Error("disk full");
    });
    g.defer(function hangs() {
      return never();
    });
    const e = await rejected(d.disposeAsync({ timeout: 30 }));
    assert.ok(e instanceof SuppressedError);
    const s = e as InstanceType<typeof SuppressedError>;
    assert.ok(s.error instanceof DisposeTimeoutError);
    assert.deepEqual((s.error as DisposeTimeoutError).running, ["hangs"]);
    assert.equal((s.suppressed as Error).message, "disk full");
  });

  it("starts no member after an abort that came from a member's own synchronous part", async () => {
    const log: string[] = [];
    const ac = new AbortController();
    const d = defer();
    const g = d.group({ limit: 1 });
    const later = g.defer(function later() {
      log.push("later ran");
    });
    g.defer(async function aborter() {
      ac.abort();
      await sleep(10);
    });
    const e = await rejected(d.disposeAsync({ signal: ac.signal }));
    await sleep(30);
    assert.ok(e instanceof DisposeTimeoutError);
    assert.deepEqual((e as DisposeTimeoutError).running, ["aborter"]);
    assert.deepEqual((e as DisposeTimeoutError).notStarted, ["later"]);
    assert.deepEqual(log, []);
    assert.equal(later.pending, false);
  });

  it("keeps the error of a member that aborts from its synchronous part and then throws", async () => {
    const ac = new AbortController();
    const d = defer();
    const g = d.group();
    g.defer(function abortsThenThrows() {
      ac.abort();
      throw new Error("member error");
    });
    g.defer(() => {
      throw new Error("earlier error");
    });
    const e = await rejected(d.disposeAsync({ signal: ac.signal }));
    assert.ok(e instanceof SuppressedError);
    const c = chain(e) as { error: string; suppressed: unknown };
    assert.match(c.error, /aborted.*"abortsThenThrows" was still running/);
    assert.deepEqual(c.suppressed, {
      error: "member error",
      suppressed: "earlier error",
    });
  });

  it("keeps the error of a nested group's member that aborts from its synchronous part and then throws", async () => {
    const ac = new AbortController();
    const d = defer();
    const g = d.group();
    const inner = g.group();
    inner.defer(function abortsThenThrows() {
      ac.abort();
      throw new Error("member error");
    });
    const e = await rejected(d.disposeAsync({ signal: ac.signal }));
    assert.ok(e instanceof SuppressedError);
    const c = chain(e) as { error: string; suppressed: unknown };
    assert.match(c.error, /aborted.*"abortsThenThrows" was still running/);
    assert.equal(c.suppressed, "member error");
  });

  it("keeps the error of a member of a limited group that aborts and throws when it starts after another settled", async () => {
    const ac = new AbortController();
    const d = defer();
    const g = d.group({ limit: 1 });
    g.defer(function abortsThenThrows() {
      ac.abort();
      throw new Error("member error");
    });
    g.defer(async function first() {
      await sleep(5);
    });
    const e = await rejected(d.disposeAsync({ signal: ac.signal }));
    const c = chain(e) as { error: string; suppressed: unknown };
    assert.match(c.error, /aborted.*"abortsThenThrows" was still running/);
    assert.equal(c.suppressed, "member error");
  });

  it("chains the error of a group that failed just before an abort once, whenever the abort lands", async () => {
    for (let ticks = 0; ticks < 6; ticks++) {
      const ac = new AbortController();
      const d = defer();
      d.group().defer(async () => {
        throw new Error("member error");
      });
      const disposal = d.disposeAsync({ signal: ac.signal });
      let later = Promise.resolve();
      for (let i = 0; i < ticks; i++) later = later.then(() => {});
      later.then(() => ac.abort());
      const leaves: string[] = [];
      const walk = (c: Chain): void => {
        if (typeof c === "string") leaves.push(c);
        else {
          walk(c.suppressed);
          walk(c.error);
        }
      };
      walk(chain(await rejected(disposal)));
      assert.equal(
        leaves.filter((l) => l === "member error").length,
        1,
        `abort after ${ticks} ticks: ${JSON.stringify(leaves)}`,
      );
    }
  });

  it("observes the later rejections of members it left running", async () => {
    const d = defer();
    const g = d.group();
    g.defer(async () => {
      await sleep(30);
      throw new Error("rejects after the deadline");
    });
    g.defer(async () => {
      await sleep(40);
      throw new Error("so does this one");
    });
    const e = await rejected(d.disposeAsync({ timeout: 5 }));
    assert.ok(e instanceof DisposeTimeoutError);
    await sleep(60); // an unhandled rejection would fail the test here
  });

  it("expands a nested group that is running into its own running members", async () => {
    const d = defer();
    const outer = d.group();
    outer.defer(function outerHang() {
      return never();
    });
    const inner = outer.group({ limit: 1 });
    inner.defer(function innerWaiting() {});
    inner.defer(function innerHang() {
      return never();
    });
    const e = await rejected(d.disposeAsync({ timeout: 20 }));
    assert.ok(e instanceof DisposeTimeoutError);
    assert.deepEqual(e.running, ["innerHang", "outerHang"]);
    assert.deepEqual(e.notStarted, ["innerWaiting"]);
  });

  it("names a nested group that has finished by none of its members, only the members still running", async () => {
    const log: string[] = [];
    const ac = new AbortController();
    const d = defer();
    const outer = d.group();
    outer.defer(function aborts() {
      ac.abort();
      return sleep(10);
    });
    outer.group().defer(function quick() {
      log.push("quick ran");
    });
    const e = await rejected(d.disposeAsync({ signal: ac.signal }));
    assert.ok(e instanceof DisposeTimeoutError);
    assert.deepEqual(e.running, ["aborts"]);
    assert.deepEqual(e.notStarted, []);
    assert.deepEqual(log, ["quick ran"]);
  });

  it("names nothing for a nested group that has just ended, and keeps what its members failed with", async () => {
    const d = defer();
    const outer = d.group();
    outer.defer(function slow() {
      return sleep(20);
    });
    outer.group().defer(function quick() {
      throw new Error("inner failed");
    });
    const ac = new AbortController();
    const disposal = d.disposeAsync({ signal: ac.signal });
    // The nested group has ended; its promise is not observed yet.
    await Promise.resolve().then(() => ac.abort());
    const e = await rejected(within(2_000, disposal));
    assert.ok(e instanceof SuppressedError);
    const s = e as InstanceType<typeof SuppressedError>;
    assert.ok(s.error instanceof DisposeTimeoutError);
    assert.deepEqual((s.error as DisposeTimeoutError).running, ["slow"]);
    assert.equal((s.suppressed as Error).message, "inner failed");
  });

  it("stops waiting for a value whose proxy traps throw, without throwing from its timer", async () => {
    const d = defer();
    const value = new Proxy({
      [Symbol.asyncDispose]() {
        return never();
      },
    }, {
      getPrototypeOf() {
        throw new Error("trap");
      },
    });
    d.use(value);
    const e = await rejected(within(2_000, d.disposeAsync({ timeout: 10 })));
    assert.ok(e instanceof DisposeTimeoutError);
    assert.deepEqual(e.running, ["anonymous"]);
  });

  it("drops a group it never reached: its members never run and their handles are done", async () => {
    const log: string[] = [];
    const d = defer();
    const g = d.group();
    const h = g.defer(() => log.push("must not run"));
    d.defer(function hang() {
      return never();
    });
    const e = await rejected(d.disposeAsync({ timeout: 10 }));
    assert.ok(e instanceof DisposeTimeoutError);
    assert.deepEqual(e.notStarted, ["DeferGroup"]);
    assert.equal(h.pending, false);
    assert.equal(g.disposed, true);
    assert.deepEqual(log, []);
  });

  it("works the same for an exit-bound stack's disposeAsync({ timeout })", async () => {
    const d = defer({ exit: true });
    const g = d.group();
    g.defer(function flushA() {
      return never();
    });
    g.defer(function flushB() {
      return never();
    });
    const e = await rejected(d.disposeAsync({ timeout: 10 }));
    assert.ok(e instanceof DisposeTimeoutError);
    assert.deepEqual(e.running, ["flushB", "flushA"]);
  });
});

describe("g.disposeAsync({ timeout, signal }): a group's own deadline", () => {
  it("names the members still running and those never started, and leaves the parent's entries alone", async () => {
    const log: string[] = [];
    const d = defer();
    d.defer(() => log.push("parent entry"));
    const g = d.group({ limit: 2 });
    g.defer(function drain3() {
      log.push("drain3: must not run");
    });
    g.defer(function drain2() {
      return never();
    });
    g.defer(function drain1() {
      return never();
    });
    const e = await rejected(within(2_000, g.disposeAsync({ timeout: 20 })));
    assert.ok(e instanceof DisposeTimeoutError);
    assert.deepEqual(e.running, ["drain1", "drain2"]);
    assert.deepEqual(e.notStarted, ["drain3"]);
    assert.match(e.message, /^DeferGroup\.disposeAsync\(\) stopped waiting/);
    assert.equal(g.disposed, true);
    assert.equal(d.disposed, false);
    await d.disposeAsync();
    assert.deepEqual(log, ["parent entry"]);
  });

  it("resolves as the plain call does when every member settles in time", async () => {
    const log: string[] = [];
    const g = defer().group();
    g.defer(async () => {
      await sleep(5);
      log.push("a");
    });
    g.defer(() => log.push("b"));
    await g.disposeAsync({ timeout: 2_000 });
    assert.deepEqual(log, ["b", "a"]);
    assert.equal(g.disposed, true);
  });

  it("keeps the errors of members that failed before the deadline, under the stop error", async () => {
    const g = defer().group();
    g.defer(function hangs() {
      return never();
    });
    g.defer(async function failsFast() {
      throw new Error("disk full");
    });
    const e = await rejected(within(2_000, g.disposeAsync({ timeout: 20 })));
    assert.ok(e instanceof SuppressedError);
    const s = e as InstanceType<typeof SuppressedError>;
    assert.ok(s.error instanceof DisposeTimeoutError);
    assert.deepEqual((s.error as DisposeTimeoutError).running, ["hangs"]);
    assert.equal((s.suppressed as Error).message, "disk full");
  });

  it("stops on abort, with the signal's reason as the cause", async () => {
    const ac = new AbortController();
    const g = defer().group();
    g.defer(function hangs() {
      return never();
    });
    const disposal = g.disposeAsync({ signal: ac.signal });
    const reason = new Error("shutting down");
    ac.abort(reason);
    const e = await rejected(within(2_000, disposal));
    assert.ok(e instanceof DisposeTimeoutError);
    assert.equal(e.cause, reason);
    assert.deepEqual(e.running, ["hangs"]);
  });

  it("with a signal already aborted, runs no member and drops them all: none runs later with the parent", async () => {
    const log: string[] = [];
    const ac = new AbortController();
    ac.abort();
    const d = defer();
    const g = d.group();
    const h = g.defer(() => log.push("must not run"));
    const e = await rejected(g.disposeAsync({ signal: ac.signal }));
    assert.ok(e instanceof DisposeTimeoutError);
    assert.deepEqual(e.notStarted, ["DeferGroup"]);
    assert.equal(h.pending, false);
    assert.equal(g.disposed, true);
    await d.disposeAsync();
    assert.deepEqual(log, []);
  });

  it("dropped by its own disposeAsync() under an aborted signal, leaves its parent's pending entries", async () => {
    const log: string[] = [];
    const d = defer();
    d.defer(function other() {
      log.push("other");
    });
    const g = d.group();
    g.defer(() => log.push("must not run"));
    const e = await rejected(g.disposeAsync({ signal: AbortSignal.abort() }));
    assert.ok(e instanceof DisposeTimeoutError);
    assert.equal(d.size, 1);
    const stop = await rejected(
      d.disposeAsync({ signal: AbortSignal.abort() }),
    );
    assert.ok(stop instanceof DisposeTimeoutError);
    assert.deepEqual(stop.notStarted, ["other"]);
    assert.deepEqual(log, []);
  });

  it("rejects bad options with a TypeError or RangeError naming DeferGroup, and starts nothing", async () => {
    const log: string[] = [];
    const g = defer().group();
    g.defer(() => log.push("ran"));
    const bad = await rejected(
      g.disposeAsync({ timeout: "5s" } as unknown as { timeout: number }),
    );
    assert.ok(bad instanceof TypeError);
    assert.match(
      bad.message,
      /^DeferGroup\.disposeAsync\(\): options\.timeout/,
    );
    const negative = await rejected(g.disposeAsync({ timeout: -1 }));
    assert.ok(negative instanceof RangeError);
    assert.deepEqual(log, []);
    assert.equal(g.disposed, false);
  });

  it("ignores an argument that is not an object, as the plain call", async () => {
    const log: string[] = [];
    const g = defer().group();
    g.defer(() => log.push("ran"));
    await (g.disposeAsync as (x: unknown) => Promise<void>)(5);
    assert.deepEqual(log, ["ran"]);
  });

  it("resolves, having run the members once, when reading the options disposed the group", async () => {
    const log: string[] = [];
    const g = defer().group();
    g.defer(function member() {
      log.push("member ran");
    });
    await g.disposeAsync({
      signal: AbortSignal.abort(),
      get timeout() {
        g.dispose();
        return 50;
      },
    });
    assert.deepEqual(log, ["member ran"]);
    assert.equal(g.disposed, true);
  });

  it("names a member that aborts from its synchronous part, and starts none after it, nested groups included", async () => {
    const log: string[] = [];
    const ac = new AbortController();
    const g = defer().group();
    const inner = g.group({ limit: 1 });
    const second = inner.defer(function second() {
      log.push("second started");
    });
    inner.defer(function first() {
      log.push("first started");
      ac.abort();
      return sleep(10);
    });
    const e = await rejected(
      within(2_000, g.disposeAsync({ signal: ac.signal })),
    );
    assert.ok(e instanceof DisposeTimeoutError);
    assert.deepEqual(e.running, ["first"]);
    assert.deepEqual(e.notStarted, ["second"]);
    assert.equal(second.pending, false);
    await sleep(30);
    assert.deepEqual(log, ["first started"]);
  });

  it("keeps the error of a member that aborts from its synchronous part and then throws", async () => {
    const ac = new AbortController();
    const g = defer().group();
    g.defer(function abortsThenThrows() {
      ac.abort();
      throw new Error("member error");
    });
    const e = await rejected(
      within(2_000, g.disposeAsync({ signal: ac.signal })),
    );
    assert.ok(e instanceof SuppressedError);
    const c = chain(e) as { error: string; suppressed: unknown };
    assert.match(c.error, /^DeferGroup\.disposeAsync\(\) was aborted/);
    assert.equal(c.suppressed, "member error");
  });

  it("names a member that aborts from the then getter of its result, and starts none after it", async () => {
    const log: string[] = [];
    const ac = new AbortController();
    const g = defer().group({ limit: 1 });
    g.defer(function later() {
      log.push("later ran");
    });
    g.defer(function abortsInThen() {
      return {
        get then() {
          ac.abort();
          return undefined;
        },
      };
    });
    const e = await rejected(
      within(2_000, g.disposeAsync({ signal: ac.signal })),
    );
    assert.ok(e instanceof DisposeTimeoutError);
    assert.deepEqual(e.running, ["abortsInThen"]);
    assert.deepEqual(e.notStarted, ["later"]);
    assert.deepEqual(log, []);
  });

  it("resolves at once, whatever it is given, once the group is disposed", async () => {
    const g = defer().group();
    await g.disposeAsync();
    await g.disposeAsync({ timeout: -1 });
  });

  it("rejects, never throws, when called on something that is not a group", async () => {
    const g = defer().group();
    const e = await rejected(g.disposeAsync.call({}));
    assert.ok(e instanceof TypeError);
    assert.match(e.message, /not a DeferGroup/);
  });
});
