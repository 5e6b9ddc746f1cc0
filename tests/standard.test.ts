// The standard DisposableStack / AsyncDisposableStack behaviours, as the
// spec (ECMA-262, explicit resource management) defines them.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { defer, DeferStack, SuppressedError } from "../mod.ts";
import { chain, rejected, resource, thrown } from "./helpers.ts";

describe("use()", () => {
  it("returns the value it was given", () => {
    const d = defer();
    const r = resource([], "r");
    assert.equal(d.use(r), r);
  });

  it("calls Symbol.dispose with this set to the value and no arguments", () => {
    const calls: { self: unknown; args: unknown[] }[] = [];
    const value = {
      [Symbol.dispose](...args: unknown[]) {
        calls.push({ self: this, args });
      },
    };
    const d = defer();
    d.use(value);
    d.dispose();
    assert.deepEqual(calls, [{ self: value, args: [] }]);
    assert.equal(calls[0].self, value);
  });

  it("reads the dispose method once, at registration", () => {
    const log: string[] = [];
    let reads = 0;
    const value = {
      get [Symbol.dispose]() {
        reads++;
        return () => log.push("original");
      },
    };
    const d = defer();
    d.use(value);
    const readsAtRegistration = reads;
    Object.defineProperty(value, Symbol.dispose, {
      value: () => log.push("replaced"),
    });
    d.dispose();
    assert.equal(readsAtRegistration, 1);
    assert.equal(reads, 1);
    assert.deepEqual(log, ["original"]);
  });

  it("returns null and undefined as they are without counting them", () => {
    const d = defer();
    assert.equal(d.use(null), null);
    assert.equal(d.use(undefined), undefined);
    assert.equal(d.size, 0);
    d.dispose();
    assert.equal(d.disposed, true);
  });

  it("throws a TypeError for a non-object and records nothing", () => {
    const d = defer();
    for (const bad of [1, "s", true, Symbol("x"), 10n]) {
      assert.throws(() => d.use(bad as unknown as Disposable), TypeError);
    }
    assert.equal(d.size, 0);
  });

  it("throws a TypeError for an object without a dispose method", () => {
    const d = defer();
    assert.throws(() => d.use({} as Disposable), TypeError);
    assert.equal(d.size, 0);
  });

  it("throws a TypeError when Symbol.dispose is not callable", () => {
    const d = defer();
    const bad = { [Symbol.dispose]: 42 } as unknown as Disposable;
    assert.throws(() => d.use(bad), TypeError);
    assert.equal(d.size, 0);
  });

  it("accepts a function object that has Symbol.dispose", () => {
    const log: string[] = [];
    const fn = Object.assign(() => {}, {
      [Symbol.dispose]: () => log.push("fn disposed"),
    });
    const d = defer();
    d.use(fn);
    d.dispose();
    assert.deepEqual(log, ["fn disposed"]);
  });

  it("throws a ReferenceError on a disposed stack before checking the value", () => {
    const d = defer();
    d.dispose();
    assert.throws(() => d.use(resource([], "r")), ReferenceError);
    assert.throws(() => d.use(null), ReferenceError);
    assert.throws(() => d.use(1 as unknown as Disposable), ReferenceError);
  });
});

describe("adopt()", () => {
  it("returns the value and later calls onDispose(value) with this undefined", () => {
    const calls: { self: unknown; args: unknown[] }[] = [];
    const d = defer();
    const value = { id: 7 };
    assert.equal(
      d.adopt(value, function (this: unknown, ...args: unknown[]) {
        calls.push({ self: this, args });
      }),
      value,
    );
    d.dispose();
    assert.deepEqual(calls, [{ self: undefined, args: [value] }]);
  });

  it("accepts null and undefined values", () => {
    const seen: unknown[] = [];
    const d = defer();
    d.adopt(null, (v) => seen.push(v));
    d.adopt(undefined, (v) => seen.push(v));
    assert.equal(d.size, 2);
    d.dispose();
    assert.deepEqual(seen, [undefined, null]);
  });

  it("throws a TypeError when onDispose is not callable", () => {
    const d = defer();
    assert.throws(
      () => d.adopt(1, "nope" as unknown as () => void),
      TypeError,
    );
    assert.equal(d.size, 0);
  });

  it("throws a ReferenceError on a disposed stack before checking onDispose", () => {
    const d = defer();
    d.dispose();
    assert.throws(
      () => d.adopt(1, "nope" as unknown as () => void),
      ReferenceError,
    );
  });
});

describe("defer()", () => {
  it("calls onDispose with no arguments and this undefined", () => {
    const calls: { self: unknown; args: unknown[] }[] = [];
    const d = defer();
    d.defer(function (this: unknown, ...args: unknown[]) {
      calls.push({ self: this, args });
    });
    d.dispose();
    assert.deepEqual(calls, [{ self: undefined, args: [] }]);
  });

  it("throws a TypeError when onDispose is not callable", () => {
    const d = defer();
    assert.throws(() => d.defer({} as unknown as () => void), TypeError);
    assert.equal(d.size, 0);
  });

  it("throws a ReferenceError on a disposed stack before checking onDispose", () => {
    const d = defer();
    d.dispose();
    assert.throws(() => d.defer({} as unknown as () => void), ReferenceError);
  });
});

describe("move()", () => {
  it("hands every entry, in order, to a new stack", () => {
    const log: string[] = [];
    const d = defer();
    d.use(resource(log, "use"));
    d.adopt("adopt", (v) => log.push(v));
    d.defer(() => log.push("defer"));
    const moved = d.move();
    assert.ok(moved instanceof DeferStack);
    assert.notEqual(moved, d);
    assert.equal(moved.size, 3);
    moved.dispose();
    assert.deepEqual(log, ["defer", "adopt", "use"]);
  });

  it("marks the old stack disposed and leaves nothing in it to run", () => {
    const log: string[] = [];
    const d = defer();
    d.defer(() => log.push("ran"));
    const moved = d.move();
    assert.equal(d.disposed, true);
    assert.equal(d.size, 0);
    d.dispose();
    assert.deepEqual(log, []);
    assert.equal(moved.disposed, false);
  });

  it("throws a ReferenceError on a disposed stack", () => {
    const d = defer();
    d.dispose();
    assert.throws(() => d.move(), ReferenceError);
  });

  it("leaves its entries to no other stack when it overflows the call stack", () => {
    // Calls move() ever closer to the call-stack limit, so that in some
    // attempt it fails after taking the entries and before the new stack
    // exists (Bun reaches that point; V8 mostly fails earlier). Whatever
    // happens, a stack created next must be empty and the old one intact.
    let depth = 0;
    let atBottom = (): void => {};
    const down = (n: number): number => {
      depth++;
      if (n === 0) {
        atBottom();
        return 0;
      }
      return down(n - 1) + 1;
    };
    let max = 0;
    try {
      down(1e7);
    } catch {
      max = depth;
    }
    // Frame sizes change as the engine optimises, so the same depths are
    // tried again and again.
    for (let attempt = 0; attempt < 600; attempt++) {
      const k = attempt % 30;
      const old = defer();
      old.defer(() => {});
      let failed = false;
      atBottom = () => {
        try {
          old.move();
        } catch {
          failed = true;
        }
      };
      try {
        depth = 0;
        down(max - k);
      } catch {
        continue; // overflowed before move() was called
      }
      if (!failed) continue;
      assert.equal(defer().size, 0, `after ${k} frames fewer`);
      assert.deepEqual([old.disposed, old.size], [false, 1]);
      old.dispose();
    }
  });
});

describe("dispose()", () => {
  it("marks the stack disposed before running the entries", () => {
    const d = defer();
    let seen: boolean | undefined;
    d.defer(() => {
      seen = d.disposed;
    });
    assert.equal(d.disposed, false);
    d.dispose();
    assert.equal(seen, true);
  });

  it("does nothing when called again from inside a cleanup", () => {
    const log: string[] = [];
    const d = defer();
    d.defer(() => log.push("first"));
    d.defer(() => {
      d.dispose();
      log.push("second");
    });
    d.dispose();
    assert.deepEqual(log, ["second", "first"]);
  });

  it("refuses registration from inside a cleanup with a ReferenceError", () => {
    const d = defer();
    let error: unknown;
    d.defer(() => {
      error = thrown(() => d.defer(() => {}));
    });
    d.dispose();
    assert.ok(error instanceof ReferenceError);
  });

  it("runs every entry even when some throw", () => {
    const log: string[] = [];
    const d = defer();
    d.defer(() => log.push("a"));
    d.defer(() => {
      log.push("b");
      throw new Error("b");
    });
    d.defer(() => log.push("c"));
    assert.throws(() => d.dispose(), { message: "b" });
    assert.deepEqual(log, ["c", "b", "a"]);
  });

  it("throws a single error as itself", () => {
    const error = new RangeError("alone");
    const d = defer();
    d.defer(() => {});
    d.defer(() => {
      throw error;
    });
    assert.equal(thrown(() => d.dispose()), error);
  });

  it("nests errors of entries 1, 2, 3 as SuppressedError(e1, SuppressedError(e2, e3))", () => {
    const d = defer();
    for (const name of ["e1", "e2", "e3"]) {
      d.defer(() => {
        throw new Error(name);
      });
    }
    const e = thrown(() => d.dispose());
    assert.ok(e instanceof SuppressedError);
    assert.deepEqual(chain(e), {
      error: "e1",
      suppressed: { error: "e2", suppressed: "e3" },
    });
  });

  it("chains thrown non-Error values, undefined included", () => {
    const d = defer();
    d.defer(() => {
      throw undefined;
    });
    d.defer(() => {
      throw "text";
    });
    const e = thrown(() => d.dispose()) as {
      error: unknown;
      suppressed: unknown;
    };
    assert.ok(e instanceof SuppressedError);
    assert.equal(e.error, undefined);
    assert.equal(e.suppressed, "text");
  });

  it("gives SuppressedError non-enumerable own error and suppressed properties", () => {
    const d = defer();
    d.defer(() => {
      throw new Error("x");
    });
    d.defer(() => {
      throw new Error("y");
    });
    const e = thrown(() => d.dispose()) as object;
    for (const key of ["error", "suppressed"]) {
      const desc = Object.getOwnPropertyDescriptor(e, key);
      assert.ok(desc, `${key} is an own property`);
      assert.equal(desc.enumerable, false);
      assert.equal(desc.writable, true);
      assert.equal(desc.configurable, true);
    }
  });

  it("does nothing when the stack is already disposed", () => {
    let calls = 0;
    const d = defer();
    d.defer(() => calls++);
    d.dispose();
    d.dispose();
    assert.equal(calls, 1);
  });

  it("throws a TypeError for a receiver that is not a DeferStack", () => {
    assert.throws(() => DeferStack.prototype.dispose.call({}), TypeError);
  });
});

describe("disposeAsync()", () => {
  it("awaits each entry before starting the next", async () => {
    const log: string[] = [];
    const d = defer();
    d.defer(() => log.push("first registered"));
    d.defer(async () => {
      log.push("slow start");
      await new Promise((resolve) => setTimeout(resolve, 5));
      log.push("slow end");
    });
    await d.disposeAsync();
    assert.deepEqual(log, ["slow start", "slow end", "first registered"]);
  });

  it("nests errors of entries 1, 2, 3 as SuppressedError(e1, SuppressedError(e2, e3))", async () => {
    const d = defer();
    d.defer(() => {
      throw new Error("e1");
    });
    d.defer(() => Promise.reject(new Error("e2")));
    d.defer(async () => {
      throw new Error("e3");
    });
    const e = await rejected(d.disposeAsync());
    assert.ok(e instanceof SuppressedError);
    assert.deepEqual(chain(e), {
      error: "e1",
      suppressed: { error: "e2", suppressed: "e3" },
    });
  });

  it("rejects with a single error as itself", async () => {
    const error = new Error("alone");
    const d = defer();
    d.defer(() => Promise.reject(error));
    assert.equal(await rejected(d.disposeAsync()), error);
  });

  it("marks the stack disposed before running the entries", async () => {
    const d = defer();
    let seen: boolean | undefined;
    d.defer(() => {
      seen = d.disposed;
    });
    const done = d.disposeAsync();
    assert.equal(d.disposed, true);
    await done;
    assert.equal(seen, true);
  });

  it("resolves at once with undefined when called during a running disposal", async () => {
    const log: string[] = [];
    let release!: () => void;
    const d = defer();
    d.defer(() => new Promise<void>((resolve) => (release = resolve)));
    const first = d.disposeAsync();
    assert.equal(await d.disposeAsync(), undefined);
    log.push("second resolved");
    release();
    await first;
    log.push("first resolved");
    assert.deepEqual(log, ["second resolved", "first resolved"]);
  });

  it("never throws synchronously, even for a bad receiver", async () => {
    let result: Promise<void> | undefined;
    assert.doesNotThrow(() => {
      result = DeferStack.prototype.disposeAsync.call({});
    });
    assert.ok(result instanceof Promise);
    assert.ok((await rejected(result)) instanceof TypeError);
  });

  it("returns the built-in's promises even when the global Promise was replaced", async () => {
    const BuiltIn = (async () => {})().constructor;
    const global = globalThis as { Promise: PromiseConstructor };
    const original = global.Promise;
    const disposed = defer();
    disposed.dispose();
    const open = defer();
    let results: Promise<void>[];
    global.Promise = class Replaced<T> extends original<T> {};
    try {
      results = [
        disposed.disposeAsync(),
        open.disposeAsync({ timeout: -1 }),
        DeferStack.prototype.disposeAsync.call({} as DeferStack),
        open.disposeAsync(),
      ];
    } finally {
      global.Promise = original;
    }
    for (const result of results) {
      assert.equal(Object.getPrototypeOf(result), BuiltIn.prototype);
      await result.catch(() => {});
    }
  });

  it("never throws synchronously for a primitive receiver", async () => {
    for (const receiver of [undefined, null, 42, "stack"]) {
      let result: Promise<void> = Promise.resolve();
      assert.doesNotThrow(() => {
        result = DeferStack.prototype.disposeAsync.call(
          receiver as unknown as DeferStack,
        );
      });
      assert.ok((await rejected(result)) instanceof TypeError);
    }
  });

  it("prefers Symbol.asyncDispose over Symbol.dispose", async () => {
    const log: string[] = [];
    const d = defer();
    d.use({
      [Symbol.dispose]: () => log.push("sync"),
      [Symbol.asyncDispose]: async () => {
        log.push("async");
      },
    });
    await d.disposeAsync();
    assert.deepEqual(log, ["async"]);
  });

  it("accepts a callable Symbol.asyncDispose beside a Symbol.dispose that is not callable, as the built-in does", async () => {
    const log: string[] = [];
    const d = defer();
    d.use({
      [Symbol.asyncDispose]: async () => {
        log.push("async");
      },
      [Symbol.dispose]: 42,
    } as unknown as AsyncDisposable);
    await d.disposeAsync();
    assert.deepEqual(log, ["async"]);
  });

  it("accepts a callable Symbol.asyncDispose beside a Symbol.dispose getter that throws", async () => {
    const log: string[] = [];
    const d = defer();
    d.use({
      [Symbol.asyncDispose]: async () => {
        log.push("async");
      },
      get [Symbol.dispose](): never {
        throw new Error("use await using");
      },
    });
    await d.disposeAsync();
    assert.deepEqual(log, ["async"]);
  });

  it("falls back to Symbol.dispose and ignores what it returns", async () => {
    const log: string[] = [];
    const d = defer();
    d.defer(() => log.push("after fallback"));
    d.use({
      [Symbol.dispose]() {
        log.push("fallback");
        // A spec fallback does not await this: it never settles.
        return new Promise(() => {});
      },
    });
    await d.disposeAsync();
    assert.deepEqual(log, ["fallback", "after fallback"]);
  });

  it("turns a throw from the Symbol.dispose fallback into a rejection", async () => {
    const d = defer();
    d.use({
      [Symbol.dispose]() {
        throw new Error("fallback failed");
      },
    });
    const e = await rejected(d.disposeAsync());
    assert.equal((e as Error).message, "fallback failed");
  });

  it("passes the adopted value to an async onDispose and awaits it", async () => {
    const log: string[] = [];
    const d = defer();
    d.adopt("conn", async (v) => {
      await null;
      log.push(`closed ${v}`);
    });
    d.defer(() => log.push("before"));
    await d.disposeAsync();
    assert.deepEqual(log, ["before", "closed conn"]);
  });
});

describe("the object's shape", () => {
  it("makes Symbol.dispose the same function as dispose", () => {
    assert.equal(
      DeferStack.prototype[Symbol.dispose],
      DeferStack.prototype.dispose,
    );
  });

  it("makes Symbol.asyncDispose the same function as disposeAsync", () => {
    assert.equal(
      DeferStack.prototype[Symbol.asyncDispose],
      DeferStack.prototype.disposeAsync,
    );
  });

  it("keeps every method non-enumerable on the prototype", () => {
    const keys: (string | symbol)[] = [
      "use",
      "adopt",
      "defer",
      "move",
      "dispose",
      "disposeAsync",
      "release",
      Symbol.dispose,
      Symbol.asyncDispose,
    ];
    for (const key of keys) {
      const desc = Object.getOwnPropertyDescriptor(DeferStack.prototype, key);
      assert.ok(desc, `${String(key)} is on the prototype`);
      assert.equal(desc.enumerable, false, String(key));
      assert.equal(desc.writable, true, String(key));
      assert.equal(typeof desc.value, "function", String(key));
    }
  });

  it("makes disposed a getter on the prototype, with no own property", () => {
    const desc = Object.getOwnPropertyDescriptor(
      DeferStack.prototype,
      "disposed",
    );
    assert.equal(typeof desc?.get, "function");
    assert.equal(desc?.set, undefined);
    assert.equal(desc?.enumerable, false);
    assert.deepEqual(Object.keys(defer()), []);
  });

  it("has the built-ins' method lengths", () => {
    const p = DeferStack.prototype;
    assert.deepEqual(
      [
        p.use.length,
        p.adopt.length,
        p.defer.length,
        p.move.length,
        p.dispose.length,
        p.disposeAsync.length,
      ],
      [1, 2, 1, 0, 0, 0],
    );
  });

  it("reports DeferStack as its toStringTag", () => {
    assert.equal(
      Object.prototype.toString.call(defer()),
      "[object DeferStack]",
    );
  });
});
