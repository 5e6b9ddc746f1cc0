// What DeferStack adds to the standard: handles, release(), size.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { defer, scope, setLeakCheck } from "../mod.ts";
import { rejected, thrown } from "./helpers.ts";
import { missingSymbols } from "../src/engine.ts";

describe("DeferHandle", () => {
  it("is pending from registration until its entry runs at disposal", () => {
    const d = defer();
    const handle = d.defer(() => {});
    assert.equal(handle.pending, true);
    d.dispose();
    assert.equal(handle.pending, false);
  });

  it("reports not pending while its own cleanup runs", () => {
    const d = defer();
    let seen: boolean | undefined;
    const handle = d.defer(() => {
      seen = handle.pending;
    });
    d.dispose();
    assert.equal(seen, false);
  });

  it("release() returns true once, then false", () => {
    const d = defer();
    const handle = d.defer(() => {});
    assert.equal(handle.release(), true);
    assert.equal(handle.pending, false);
    assert.equal(handle.release(), false);
  });

  it("release() after the entry ran returns false", () => {
    const d = defer();
    const handle = d.defer(() => {});
    d.dispose();
    assert.equal(handle.release(), false);
  });

  it("dispose() returns the cleanup's return value", () => {
    const d = defer();
    const handle = d.defer((a: number, b: number) => a + b, 2, 3);
    assert.equal(handle.dispose(), 5);
  });

  it("dispose() passes a throw to the caller and never runs the entry again", () => {
    let calls = 0;
    const d = defer();
    const handle = d.defer(() => {
      calls++;
      throw new Error("early failure");
    });
    assert.throws(() => handle.dispose(), { message: "early failure" });
    assert.equal(handle.pending, false);
    d.dispose();
    assert.equal(calls, 1);
  });

  it("dispose() returns an async cleanup's promise for the caller to await", async () => {
    const d = defer();
    const handle = d.defer(async () => "done");
    const result = handle.dispose();
    assert.ok(result instanceof Promise);
    assert.equal(await result, "done");
  });

  it("follows its entry through move()", () => {
    const log: string[] = [];
    const d = defer();
    const released = d.defer(() => log.push("released"));
    const early = d.defer(() => log.push("early"));
    d.defer(() => log.push("at exit"));
    const moved = d.move();
    assert.equal(released.pending, true);
    assert.equal(released.release(), true);
    early.dispose();
    assert.equal(moved.size, 1);
    moved.dispose();
    assert.deepEqual(log, ["early", "at exit"]);
  });

  it("can release an entry not yet reached while the stack is unwinding", () => {
    const log: string[] = [];
    const d = defer();
    const later = d.defer(() => log.push("later"));
    d.defer(() => log.push("bottom-most ran"));
    d.defer(() => {
      log.push("top");
      assert.equal(later.release(), true);
    });
    d.dispose();
    assert.deepEqual(log, ["top", "bottom-most ran"]);
  });

  it("can run an entry not yet reached from another cleanup, once", () => {
    const log: string[] = [];
    const d = defer();
    const later = d.defer(() => log.push("later"));
    d.defer(() => {
      later.dispose();
      log.push("top");
    });
    d.dispose();
    assert.deepEqual(log, ["later", "top"]);
  });

  it("can release an entry not yet reached during disposeAsync()", async () => {
    const log: string[] = [];
    const d = defer();
    const later = d.defer(() => log.push("later"));
    d.defer(async () => {
      await null;
      later.release();
      log.push("top");
    });
    await d.disposeAsync();
    assert.deepEqual(log, ["top"]);
  });
});

describe("DeferHandle as a disposable", () => {
  it("runs its entry early through Symbol.dispose, once", () => {
    const log: string[] = [];
    const d = defer();
    const h = d.defer((x: string) => log.push(x), "early");
    h[Symbol.dispose]();
    h[Symbol.dispose]();
    d.dispose();
    assert.deepEqual(log, ["early"]);
    assert.equal(h.pending, false);
  });

  it("can be used by another stack, which then runs the entry early", () => {
    const log: string[] = [];
    const owner = defer();
    const other = defer();
    other.use(owner.defer(() => log.push("ran")));
    other.dispose();
    assert.deepEqual(log, ["ran"]);
    assert.equal(owner.size, 0);
  });

  it("throws a TypeError from Symbol.dispose for an async cleanup, its rejection handled", async () => {
    const d = defer();
    const h = d.defer(() => Promise.reject(new Error("late")));
    const e = thrown(() => h[Symbol.dispose]()) as Error;
    assert.ok(e instanceof TypeError);
    assert.match(e.message, /await using/);
    await new Promise((resolve) => setTimeout(resolve, 0)); // no unhandled rejection
  });

  it("keeps the async cleanup's promise as the cause of that TypeError, as dispose() does", async () => {
    const late = new Error("late");
    const h = defer().defer(async () => {
      throw late;
    });
    const e = thrown(() => h[Symbol.dispose]()) as Error;
    assert.equal(await rejected(e.cause as Promise<void>), late);
  });

  it("awaits an async cleanup through Symbol.asyncDispose", async () => {
    const log: string[] = [];
    const d = defer();
    const h = d.defer(async () => {
      await null;
      log.push("flushed");
    });
    await h[Symbol.asyncDispose]();
    assert.deepEqual(log, ["flushed"]);
  });

  it("runs and rejects as on any stack through Symbol.asyncDispose on an exit-bound stack", async () => {
    const d = defer({ exit: true });
    const h = d.defer(async () => {
      await null;
      throw new Error("rollback failed");
    });
    await assert.rejects(h[Symbol.asyncDispose](), /rollback failed/);
    assert.equal(h.pending, false);
    d.dispose();
  });

  it("runs its entry through Symbol.asyncDispose on an exit-bound stack even when the cleanup's name cannot be read", async () => {
    const log: string[] = [];
    const d = defer({ exit: true });
    const cleanup = (): void => void log.push("ran");
    Object.defineProperty(cleanup, "name", {
      get(): never {
        throw new Error("no name");
      },
    });
    const h = d.defer(cleanup);
    await h[Symbol.asyncDispose]();
    d.dispose();
    assert.deepEqual(log, ["ran"]);
  });
});

describe("defer(fn, ...args)", () => {
  it("binds each loop iteration's value at registration", () => {
    const log: number[] = [];
    const d = defer();
    // A `var` loop variable is shared by every closure; bound args are not.
    // deno-lint-ignore no-var no-inner-declarations
    for (var i = 0; i < 3; i++) d.defer((n: number) => log.push(n), i);
    d.dispose();
    assert.deepEqual(log, [2, 1, 0]);
  });

  it("passes undefined arguments through unchanged", () => {
    const seen: unknown[][] = [];
    const d = defer();
    d.defer((...args: unknown[]) => seen.push(args), undefined, null);
    d.dispose();
    assert.deepEqual(seen, [[undefined, null]]);
  });

  it("calls the cleanup with this undefined, whatever it binds, under both disposals", async () => {
    const selves: unknown[] = [];
    function record(this: unknown, ..._args: unknown[]): void {
      selves.push(this);
    }
    for (const how of ["dispose", "disposeAsync"] as const) {
      const d = defer();
      d.defer(record, 1);
      d.defer(record, 1, 2);
      d.onFailure(record, 1);
      d.onFailure(record, 1, 2);
      d.onFailure(record);
      await d[how]();
    }
    assert.deepEqual(selves, new Array(10).fill(undefined));
  });
});

describe("release()", () => {
  it("drops every pending entry so none runs", () => {
    const log: string[] = [];
    const d = defer();
    d.use({ [Symbol.dispose]: () => log.push("use") });
    d.adopt(1, () => log.push("adopt"));
    d.defer(() => log.push("defer"));
    d.release();
    d.dispose();
    assert.deepEqual(log, []);
  });

  it("returns how many entries it dropped", () => {
    const d = defer();
    d.defer(() => {});
    d.defer(() => {});
    d.use(null);
    assert.equal(d.release(), 2);
    assert.equal(d.release(), 0);
  });

  it("makes every handle say it is no longer pending", () => {
    const d = defer();
    const a = d.defer(() => {});
    const b = d.defer(() => {});
    d.release();
    assert.deepEqual([a.pending, b.pending], [false, false]);
    assert.equal(a.dispose(), undefined);
  });

  it("keeps the stack open for new entries", () => {
    const log: string[] = [];
    const d = defer();
    d.defer(() => log.push("dropped"));
    d.release();
    assert.equal(d.disposed, false);
    d.defer(() => log.push("added after"));
    d.dispose();
    assert.deepEqual(log, ["added after"]);
  });

  it("throws a ReferenceError on a disposed stack", () => {
    const d = defer();
    d.dispose();
    assert.throws(() => d.release(), ReferenceError);
  });
});

describe("new stacks", () => {
  it("start empty whatever other stacks took as their first entry", async () => {
    const log: string[] = [];
    type First = (d: ReturnType<typeof defer>) => unknown;
    const firsts: [string, First][] = [
      ["defer", (d) => d.defer(() => log.push("defer"))],
      ["defer with an argument", (d) => d.defer((x) => log.push(x), "arg")],
      ["adopt", (d) => d.adopt("adopt", (x) => log.push(x))],
      ["use", (d) => d.use({ [Symbol.dispose]: () => log.push("use") })],
      ["use(null)", (d) => d.use(null)],
      ["onFailure", (d) => d.onFailure(() => log.push("onFailure"))],
      ["a group", (d) => d.group().defer(() => log.push("group"))],
    ];
    for (const [name, first] of firsts) {
      for (const end of ["dispose", "disposeAsync", "release"] as const) {
        const used = defer();
        first(used);
        const fresh = defer();
        assert.equal(fresh.size, 0, `${name}, then ${end}`);
        log.length = 0;
        await used[end]();
        const ran = [...log];
        fresh.dispose();
        const again = defer();
        again.dispose();
        assert.deepEqual(log, ran, `${name}, then ${end}`);
        assert.equal(
          ran.length,
          end === "release" ? 0 : name === "use(null)" ? 0 : 1,
        );
      }
    }
  });
});

describe("size", () => {
  it("counts pending entries of every kind", () => {
    const d = defer();
    d.use({ [Symbol.dispose]() {} });
    d.use({ async [Symbol.asyncDispose]() {} });
    d.adopt(1, () => {});
    d.defer(() => {});
    assert.equal(d.size, 4);
  });

  it("drops by one for each released or early-run entry", () => {
    const d = defer();
    const a = d.defer(() => {});
    const b = d.defer(() => {});
    d.defer(() => {});
    a.release();
    assert.equal(d.size, 2);
    b.dispose();
    assert.equal(d.size, 1);
  });

  it("is 0 once the stack is disposed", () => {
    const d = defer();
    d.defer(() => {});
    d.dispose();
    assert.equal(d.size, 0);
  });
});

describe("many entries released below the top", () => {
  it("keep the survivors' order and handles intact", () => {
    const log: number[] = [];
    const d = defer();
    const handles = [];
    for (let i = 0; i < 1000; i++) {
      handles.push(d.defer((n: number) => log.push(n), i));
    }
    for (let i = 0; i < 1000; i += 2) handles[i].release();
    assert.equal(d.size, 500);
    // Survivors' handles still work after the storage was compacted.
    assert.equal(handles[999].release(), true);
    assert.equal(handles[1].dispose(), 1);
    d.dispose();
    const expected = [];
    for (let i = 997; i >= 3; i -= 2) expected.push(i);
    assert.deepEqual(log, [1, ...expected]);
  });

  it("are skipped wherever they sit when released in any order", () => {
    const log: number[] = [];
    const d = defer();
    const handles = [];
    for (let i = 0; i < 300; i++) {
      handles.push(d.defer((n: number) => log.push(n), i));
    }
    // Release from the top down, then from the bottom up, then the middle.
    for (let i = 299; i >= 250; i--) handles[i].release();
    for (let i = 0; i < 100; i++) handles[i].release();
    for (let i = 150; i < 200; i++) handles[i].release();
    d.defer(() => log.push(-1));
    d.dispose();
    const expected = [-1];
    for (let i = 249; i >= 200; i--) expected.push(i);
    for (let i = 149; i >= 100; i--) expected.push(i);
    assert.deepEqual(log, expected);
  });
});

describe("registration errors", () => {
  it("name the method and the bad value", () => {
    const d = defer();
    const e = thrown(() => d.defer(42 as unknown as () => void)) as Error;
    assert.ok(e instanceof TypeError);
    assert.match(e.message, /defer\(\).*number 42/);
  });

  // Each bad call, and the message it must give: the call, the parameter,
  // and the value as it was passed.
  const cases: [string, () => unknown, string][] = [
    [
      "defer() without a cleanup",
      () => (defer().defer as () => unknown)(),
      "DeferStack.defer(): onDispose must be a function, got undefined",
    ],
    [
      "adopt() without a cleanup",
      () => (defer().adopt as (v: unknown) => unknown)(1),
      "DeferStack.adopt(): onDispose must be a function, got undefined",
    ],
    [
      "onFailure() with a string",
      () => defer().onFailure("rollback" as unknown as () => void),
      'DeferStack.onFailure(): onFailure must be a function, got the string "rollback"',
    ],
    [
      "use() with a number",
      () => defer().use(5 as unknown as Disposable),
      "DeferStack.use(): expected an object with Symbol.dispose or Symbol.asyncDispose, got the number 5",
    ],
    [
      "use() with a Symbol.dispose that is not a function",
      () => defer().use({ [Symbol.dispose]: 42 } as unknown as Disposable),
      "DeferStack.use(): the value's Symbol.dispose is not a function, got the number 42",
    ],
    [
      "use() with a Symbol.asyncDispose that is not a function",
      () =>
        defer().use(
          { [Symbol.asyncDispose]: "x" } as unknown as AsyncDisposable,
        ),
      'DeferStack.use(): the value\'s Symbol.asyncDispose is not a function, got the string "x"',
    ],
    [
      "scope() with a number",
      () => scope(42 as unknown as () => void),
      "scope(): body must be a function, got the number 42",
    ],
    [
      "setLeakCheck() without an option",
      () => (setLeakCheck as () => void)(),
      "setLeakCheck(): option must be a boolean or a function, got undefined",
    ],
    [
      "defer() with a bad leakCheck",
      () => defer({ leakCheck: "yes" as unknown as boolean }),
      'DeferStack: options.leakCheck must be a boolean or a function, got the string "yes"',
    ],
    [
      "defer() with options that are not an object",
      () => defer(3 as unknown as object),
      "DeferStack: options must be an object, got the number 3",
    ],
    [
      "defer() with a misspelt option",
      () => defer({ exti: true } as unknown as object),
      'DeferStack: unknown field "exti"; the fields are leakCheck, exit',
    ],
    [
      "group() with a misspelt option",
      () => defer().group({ limt: 2 } as unknown as object),
      'DeferStack.group(): unknown field "limt"; the fields are limit',
    ],
    [
      "a nested group() with a misspelt option",
      () => defer().group().group({ Limit: 2 } as unknown as object),
      'DeferGroup.group(): unknown field "Limit"; the fields are limit',
    ],
    [
      "scope() with a misspelt option",
      () => scope(() => {}, { leakcheck: true } as unknown as object),
      'DeferStack: unknown field "leakcheck"; the fields are leakCheck, exit',
    ],
  ];
  for (const [what, call, message] of cases) {
    it(`say what was wrong for ${what}`, () => {
      const e = thrown(call) as Error;
      assert.ok(e instanceof TypeError);
      assert.equal(e.message, message);
    });
  }
});

// No runtime here lacks the symbols (they cannot be deleted: they are
// non-configurable), so the check is tested on stand-ins for `Symbol`.
describe("an engine without explicit resource management", () => {
  it("is told at defer() which symbols it lacks", () => {
    assert.match(
      missingSymbols({}) ?? "",
      /^@cleanup\/defer needs Symbol\.dispose and Symbol\.asyncDispose \(explicit resource management\)/,
    );
    assert.match(
      missingSymbols({ dispose: Symbol("dispose") }) ?? "",
      /needs Symbol\.asyncDispose \(/,
    );
  });

  it("finds nothing missing on this runtime", () => {
    assert.equal(missingSymbols(Symbol), null);
  });
});
