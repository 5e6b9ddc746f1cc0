// setExitPolicy() and the exit option: bad input fails at the call, with
// the function and the value named. (The behaviour on each way out of the
// process is in exit.test.ts, in child processes.)
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { defer, DeferStack, setExitPolicy } from "../mod.ts";
import { rejectionsFatal } from "../src/exit_runtime.ts";

describe("setExitPolicy()", () => {
  it("accepts every documented field and restores the defaults with {}", () => {
    setExitPolicy({
      signals: ["SIGINT", "SIGTERM", "SIGHUP", "SIGQUIT", "SIGBREAK"],
      timeout: false,
      report: () => {},
      exitCode: 0,
    });
    setExitPolicy({ timeout: Infinity, report: false });
    setExitPolicy({ timeout: 0, signals: [] });
    setExitPolicy({});
  });

  const bad: [string, unknown, ErrorConstructor, RegExp][] = [
    [
      "a non-object policy",
      "SIGINT",
      TypeError,
      /setExitPolicy\(\): policy must be an object, got the string "SIGINT"/,
    ],
    ["a null policy", null, TypeError, /policy must be an object, got null/],
    ["an unknown field", { timout: 5 }, TypeError, /unknown field "timout"/],
    [
      "signals that are not an array",
      { signals: "SIGINT" },
      TypeError,
      /signals must be an array/,
    ],
    [
      "an unknown signal",
      { signals: ["SIGKILL"] },
      RangeError,
      /the string "SIGKILL" is not a signal/,
    ],
    [
      "a negative timeout",
      { timeout: -5 },
      RangeError,
      /timeout must be 0 or more.*got -5/,
    ],
    ["a NaN timeout", { timeout: NaN }, RangeError, /got NaN/],
    [
      "a timeout of true",
      { timeout: true },
      TypeError,
      /timeout must be a number.*or false, got the boolean true/,
    ],
    [
      "a string report",
      { report: "stderr" },
      TypeError,
      /report must be a boolean or a function/,
    ],
    [
      "a fractional exitCode",
      { exitCode: 1.5 },
      RangeError,
      /exitCode must be an integer 0–255, got 1.5/,
    ],
    ["an exitCode above 255", { exitCode: 256 }, RangeError, /got 256/],
    [
      "a string exitCode",
      { exitCode: "1" },
      TypeError,
      /exitCode must be an integer/,
    ],
  ];
  for (const [what, policy, type, message] of bad) {
    it(`rejects ${what} with a ${type.name}`, () => {
      assert.throws(() => setExitPolicy(policy as never), (e) => {
        assert.ok(e instanceof type);
        assert.match((e as Error).message, message);
        return true;
      });
    });
  }
});

describe("the exit option", () => {
  it("must be a boolean", () => {
    assert.throws(
      () => defer({ exit: "yes" as never }),
      /DeferStack: options.exit must be a boolean, got the string "yes"/,
    );
    assert.throws(() => new DeferStack({ exit: 1 as never }), TypeError);
  });

  it("reads nothing more of a failing value or cleanup than a plain stack does", async () => {
    const traced = (log: string[]) => {
      const handler: ProxyHandler<object> = {
        get(target, key, receiver) {
          log.push(`get ${String(key)}`);
          return Reflect.get(target, key, receiver);
        },
        getPrototypeOf(target) {
          log.push("getPrototypeOf");
          return Reflect.getPrototypeOf(target);
        },
      };
      const value: Disposable = new Proxy<Disposable>({
        [Symbol.dispose](): void {
          throw new Error("value");
        },
      }, handler);
      const cleanup = new Proxy<() => never>(function cleanup(): never {
        throw new Error("cleanup");
      }, handler);
      return { value, cleanup };
    };
    const run = async (exit: boolean, async: boolean): Promise<string[]> => {
      const log: string[] = [];
      const { value, cleanup } = traced(log);
      const d = defer({ exit });
      d.use(value);
      d.defer(cleanup);
      log.length = 0; // what disposal reads
      await assert.rejects(async () => {
        if (async) await d.disposeAsync();
        else d.dispose();
      });
      return log;
    };
    for (const async of [false, true]) {
      assert.deepEqual(await run(true, async), await run(false, async));
    }
  });

  it("is off with exit: false, so the stack behaves as any other", () => {
    const log: string[] = [];
    const d = defer({ exit: false });
    d.defer(() => log.push("ran"));
    d.dispose();
    assert.deepEqual(log, ["ran"]);
  });
});

describe("binding many stacks", () => {
  it("binds and unbinds in constant time: 60,000 bound stacks disposed oldest first take far less than the seconds a search per unbind took", () => {
    const stacks: DeferStack[] = [];
    for (let i = 0; i < 60_000; i++) stacks.push(defer({ exit: true }));
    const started = Date.now();
    for (const d of stacks) d.dispose();
    const ms = Date.now() - started;
    // A linear search per unbind took about 9 s here; constant time, a
    // few tens of milliseconds. The bound is loose: CI machines are noisy.
    assert.ok(ms < 1_500, `disposing took ${ms} ms`);
  });
});

describe("--unhandled-rejections", () => {
  const cases: [string, string[], string | undefined, boolean][] = [
    ["the default", [], undefined, true],
    ["throw", ["--unhandled-rejections=throw"], undefined, true],
    ["strict", ["--unhandled-rejections=strict"], undefined, true],
    ["warn", ["--unhandled-rejections=warn"], undefined, false],
    ["none, two words", ["--unhandled-rejections", "none"], undefined, false],
    [
      "warn-with-error-code in NODE_OPTIONS",
      [],
      "--unhandled-rejections=warn-with-error-code",
      false,
    ],
    [
      "the command line over NODE_OPTIONS",
      ["--unhandled-rejections=strict"],
      "--unhandled-rejections=warn",
      true,
    ],
  ];
  for (const [what, execArgv, options, fatal] of cases) {
    it(`reads ${what} as ${fatal ? "fatal" : "not fatal"}`, () => {
      assert.equal(
        rejectionsFatal({ execArgv, env: { NODE_OPTIONS: options } }),
        fatal,
      );
    });
  }
});
