// setExitPolicy() and the exit option: bad input fails at the call, with
// the function and the value named. (The behaviour on each way out of the
// process is in exit.test.ts, in child processes.)
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { defer, DeferStack, setExitPolicy } from "../mod.ts";

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

  it("is off with exit: false, so the stack behaves as any other", () => {
    const log: string[] = [];
    const d = defer({ exit: false });
    d.defer(() => log.push("ran"));
    d.dispose();
    assert.deepEqual(log, ["ran"]);
  });
});
