// The SuppressedError this package chains errors with: the runtime's own
// where there is one, a fallback of the spec's shape where there is none.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { defer, SuppressedError } from "../mod.ts";
import { FallbackSuppressedError } from "../src/suppressed_error.ts";
import { thrown } from "./helpers.ts";

type Chained = Error & { error: unknown; suppressed: unknown };
type NativeStack = new () => { defer(fn: () => void): void; dispose(): void };
const NativeStack = (globalThis as { DisposableStack?: NativeStack })
  .DisposableStack;

/** What disposing a stack with two throwing entries throws. */
function chainedBy(
  make: () => { defer(fn: () => void): void; dispose(): void },
) {
  const stack = make();
  stack.defer(() => {
    throw new Error("first");
  });
  stack.defer(() => {
    throw new Error("second");
  });
  return thrown(() => stack.dispose()) as Chained;
}

/**
 * Disposes a stack of three throwing entries while `Error.stackTraceLimit`
 * is the accessor `limit`, then puts the original property back.
 */
function disposeWithLimit(
  limit: { get: () => unknown; set: (value: unknown) => void },
): { ran: number[]; error: unknown } {
  const original = Object.getOwnPropertyDescriptor(Error, "stackTraceLimit");
  Object.defineProperty(Error, "stackTraceLimit", {
    ...limit,
    configurable: true,
  });
  try {
    const ran: number[] = [];
    const d = defer();
    for (let i = 0; i < 3; i++) {
      d.defer(() => {
        ran.push(i);
        throw new Error(String(i));
      });
    }
    return { ran, error: thrown(() => d.dispose()) };
  } finally {
    if (original === undefined) {
      delete (Error as { stackTraceLimit?: number }).stackTraceLimit;
    } else Object.defineProperty(Error, "stackTraceLimit", original);
  }
}

describe("the errors DeferStack chains", () => {
  it("carry the message the runtime's own stacks give, own or inherited as there", () => {
    const ours = chainedBy(defer);
    if (NativeStack === undefined) {
      // Node 22: no native stack to ask; V8's sentence, as later Node has.
      assert.equal(ours.message, "An error was suppressed during disposal");
      assert.ok(Object.hasOwn(ours, "message"));
    } else {
      const native = chainedBy(() => new NativeStack());
      assert.equal(ours.message, native.message);
      assert.equal(
        Object.hasOwn(ours, "message"),
        Object.hasOwn(native, "message"),
      );
    }
  });

  it("give the error dispose() throws a stack trace from dispose() on, without the library's frames", () => {
    const d = defer();
    for (const name of ["a", "b", "c"]) {
      d.defer(() => {
        throw new Error(name);
      });
    }
    function disposeHere(): void {
      d.dispose();
    }
    const e = thrown(disposeHere) as Chained;
    const frames = (e.stack ?? "").split("\n").slice(1);
    assert.match(frames[0], /dispose/);
    assert.match(frames[1], /disposeHere/);
    assert.ok(
      !/at (Slots\.)?unwindSync|at suppress/.test(e.stack ?? ""),
      `library frames in ${e.stack}`,
    );
  });

  it("keep a stack string on every link of a long chain", () => {
    const d = defer();
    for (let i = 0; i < 5; i++) {
      d.defer(() => {
        throw new Error(String(i));
      });
    }
    let link: unknown = thrown(() => d.dispose());
    let links = 0;
    while (link instanceof SuppressedError) {
      assert.equal(typeof link.stack, "string");
      assert.match(link.stack as string, /^SuppressedError/);
      links++;
      link = link.suppressed;
    }
    assert.equal(links, 4);
  });

  it("do not stop the disposal when Error.stackTraceLimit is an accessor that throws", () => {
    const written: unknown[] = [];
    const { ran, error } = disposeWithLimit({
      get: () => 10,
      set: (value: unknown) => {
        written.push(value);
        throw new Error("read-only here");
      },
    });
    assert.deepEqual(ran, [2, 1, 0]);
    assert.ok(error instanceof SuppressedError);
    assert.deepEqual(written, []);
  });

  it("never read Error.stackTraceLimit through an accessor", () => {
    let reads = 0;
    const { ran, error } = disposeWithLimit({
      get: () => {
        reads++;
        throw new Error("not readable here");
      },
      set: () => {},
    });
    assert.deepEqual(ran, [2, 1, 0]);
    assert.ok(error instanceof SuppressedError);
    assert.equal(reads, 0);
  });

  it("keep the engine's Error.captureStackTrace when a program replaces it", () => {
    const E = Error as unknown as { captureStackTrace?: unknown };
    const original = E.captureStackTrace;
    E.captureStackTrace = () => {
      throw new Error("replaced");
    };
    try {
      const e = chainedBy(defer);
      assert.ok(e instanceof SuppressedError);
      assert.equal((e.error as Error).message, "first");
    } finally {
      E.captureStackTrace = original;
    }
  });

  it("leave Error.stackTraceLimit as it was, 0 included", () => {
    const before = Error.stackTraceLimit;
    try {
      for (const limit of [7, 0]) {
        Error.stackTraceLimit = limit;
        chainedBy(defer);
        assert.equal(Error.stackTraceLimit, limit);
      }
    } finally {
      Error.stackTraceLimit = before;
    }
  });
});

// The fallback is tested on every runtime, and compared with the native
// constructor wherever there is one.
describe("the fallback SuppressedError", () => {
  const Fallback = FallbackSuppressedError as unknown as {
    new (error: unknown, suppressed: unknown, message?: string): Chained;
    (error: unknown, suppressed: unknown, message?: string): Chained;
    prototype: Chained;
  };

  it("can be called without new, like the native one", () => {
    const e = Fallback("new", "old", "message");
    assert.ok(e instanceof Fallback);
    assert.ok(e instanceof Error);
    assert.deepEqual([e.error, e.suppressed, e.message], [
      "new",
      "old",
      "message",
    ]);
  });

  it("gives an own message only when one is passed, before error and suppressed", () => {
    const keys = (e: object) =>
      Object.getOwnPropertyNames(e).filter((k) =>
        ["message", "error", "suppressed"].includes(k)
      );
    assert.deepEqual(keys(new Fallback(1, 2, "m")), [
      "message",
      "error",
      "suppressed",
    ]);
    assert.deepEqual(keys(new Fallback(1, 2)), ["error", "suppressed"]);
    assert.equal(new Fallback(1, 2).message, "");
  });

  it("makes error and suppressed writable, configurable, non-enumerable data properties", () => {
    const e = new Fallback(1, 2);
    for (const key of ["error", "suppressed"]) {
      assert.deepEqual(Object.getOwnPropertyDescriptor(e, key), {
        value: key === "error" ? 1 : 2,
        writable: true,
        enumerable: false,
        configurable: true,
      });
    }
  });

  it("has the spec's constructor shape: name, length 3, Error as its prototype", () => {
    assert.equal(Fallback.name, "SuppressedError");
    assert.equal(Fallback.length, 3);
    assert.equal(Object.getPrototypeOf(Fallback), Error);
    assert.equal(Object.getPrototypeOf(Fallback.prototype), Error.prototype);
    assert.deepEqual(
      Object.getOwnPropertyDescriptor(Fallback, "prototype"),
      {
        value: Fallback.prototype,
        writable: false,
        enumerable: false,
        configurable: false,
      },
    );
  });

  it("gives its prototype own constructor, name and an empty message", () => {
    const own = (key: string) =>
      Object.getOwnPropertyDescriptor(Fallback.prototype, key);
    assert.deepEqual(own("message"), {
      value: "",
      writable: true,
      enumerable: false,
      configurable: true,
    });
    assert.deepEqual(own("name"), {
      value: "SuppressedError",
      writable: true,
      enumerable: false,
      configurable: true,
    });
    assert.equal(own("constructor")?.value, Fallback);
    assert.equal(own("constructor")?.enumerable, false);
  });

  it("matches the native constructor's own property descriptors, where there is one", () => {
    const native = (globalThis as { SuppressedError?: typeof Fallback })
      .SuppressedError ?? Fallback;
    const shape = (C: typeof Fallback) => {
      const describeOwn = (o: object) =>
        Object.getOwnPropertyNames(o).sort().map((k) => {
          const { value, ...flags } = Object.getOwnPropertyDescriptor(o, k)!;
          return [k, typeof value === "function" ? "function" : value, flags];
        });
      return {
        prototype: describeOwn(C.prototype).filter(([k]) =>
          k !== "constructor"
        ),
        instance: describeOwn(new C(1, 2, "m")).filter(([k]) =>
          ["message", "error", "suppressed"].includes(k as string)
        ),
      };
    };
    assert.deepEqual(shape(Fallback), shape(native));
    assert.equal(SuppressedError.length, 3);
  });
});
