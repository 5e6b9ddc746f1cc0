// Model-based test of groups' error order: random members (every kind of
// registration, random delays, random successes, throws and rejections,
// some released beforehand) in a group with a random limit, against the
// sequential reference: a stack with the same members, disposed with
// disposeAsync(). The error chains must be the same whatever order the
// members settle in, and so must the set of cleanups that ran.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { defer, type DeferGroup, type DeferStack } from "../mod.ts";
import { chain } from "./helpers.ts";

type Mode = "ok" | "throw" | "reject";
type Kind = "defer" | "adopt" | "onFailure" | "useAsync" | "useSync" | "null";
interface Member {
  kind: Kind;
  mode: Mode;
  /** Milliseconds before an async member settles; -1: settles in a microtask. */
  delay: number;
  released: boolean;
}

const member: fc.Arbitrary<Member> = fc.record({
  kind: fc.constantFrom<Kind>(
    "defer",
    "defer",
    "adopt",
    "onFailure",
    "useAsync",
    "useSync",
    "null",
  ),
  mode: fc.constantFrom<Mode>("ok", "throw", "reject", "reject"),
  delay: fc.integer({ min: -1, max: 4 }),
  released: fc.boolean(),
});

const sleep = (ms: number): Promise<void> =>
  ms < 0 ? Promise.resolve() : new Promise((r) => setTimeout(r, ms));

/** The cleanup of member `i`: logs, then succeeds or fails as told. */
function cleanup(log: Set<number>, i: number, m: Member): () => unknown {
  return () => {
    log.add(i);
    if (m.mode === "throw") throw new Error(`#${i} threw`);
    return sleep(m.delay).then(() => {
      if (m.mode === "reject") throw new Error(`#${i} rejected`);
    });
  };
}

/** Registers the members on a stack or a group, releasing as told. */
function register(
  target: DeferStack | DeferGroup,
  members: Member[],
  log: Set<number>,
): void {
  members.forEach((m, i) => {
    const fn = cleanup(log, i, m);
    switch (m.kind) {
      case "defer":
      case "onFailure": {
        const h = m.kind === "defer" ? target.defer(fn) : target.onFailure(fn);
        if (m.released) h.release();
        break;
      }
      case "adopt":
        target.adopt(i, fn);
        break;
      case "useAsync":
        target.use({ [Symbol.asyncDispose]: fn as () => Promise<void> });
        break;
      case "useSync":
        // A Symbol.dispose fallback: only a throw counts; never reject.
        target.use({
          [Symbol.dispose]: () => {
            log.add(i);
            if (m.mode !== "ok") throw new Error(`#${i} threw`);
          },
        });
        break;
      case "null":
        target.use(null);
        break;
    }
  });
}

async function outcome(p: Promise<void>): Promise<unknown> {
  try {
    await p;
    return "resolved";
  } catch (e) {
    return chain(e);
  }
}

describe("groups against the sequential reference", () => {
  it("give the same error chain and run the same cleanups, whatever order members settle in", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(member, { maxLength: 12 }),
        fc.oneof(fc.constant(Infinity), fc.integer({ min: 1, max: 4 })),
        async (members, limit) => {
          const refLog = new Set<number>();
          const reference = defer();
          register(reference, members, refLog);
          const expected = await outcome(reference.disposeAsync());

          const log = new Set<number>();
          const d = defer();
          const g = d.group({ limit });
          register(g, members, log);
          const got = await outcome(d.disposeAsync());

          assert.deepEqual(got, expected);
          assert.deepEqual([...log].sort(), [...refLog].sort());
        },
      ),
      { numRuns: 150 },
    );
  });

  it("give the same chain under the parent's synchronous dispose() when no member is async", () => {
    fc.assert(
      fc.property(fc.array(member, { maxLength: 12 }), (members) => {
        // Synchronous members only: throws or successes, no promises.
        const sync = members.map((m) => ({
          ...m,
          kind: m.kind === "useAsync" ? "useSync" as const : m.kind,
          mode: m.mode === "reject" ? "throw" as const : m.mode,
        }));
        const run = (target: DeferStack | DeferGroup, log: Set<number>) =>
          sync.forEach((m, i) => {
            const fn = (): void => {
              log.add(i);
              if (m.mode === "throw") throw new Error(`#${i}`);
            };
            if (m.kind === "null") target.use(null);
            else if (m.kind === "useSync") {
              target.use({ [Symbol.dispose]: fn });
            } else if (m.kind === "adopt") target.adopt(i, fn);
            else {
              const h = m.kind === "defer"
                ? target.defer(fn)
                : target.onFailure(fn);
              if (m.released) h.release();
            }
          });
        const capture = (f: () => void): unknown => {
          try {
            f();
            return "returned";
          } catch (e) {
            return chain(e);
          }
        };
        const refLog = new Set<number>();
        const reference = defer();
        run(reference, refLog);
        const log = new Set<number>();
        const d = defer();
        run(d.group(), log);
        assert.deepEqual(
          capture(() => d.dispose()),
          capture(() => reference.dispose()),
        );
        assert.deepEqual([...log], [...refLog]);
      }),
      { numRuns: 300 },
    );
  });
});
