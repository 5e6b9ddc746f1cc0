/**
 * The benchmark scenarios for one implementation. `cases.ts` imports this
 * module once per implementation (with a different query string), so each
 * implementation gets its own copy of every loop: call sites then see one
 * stack class each, as in real code, instead of every class at once, which
 * would make them megamorphic and penalise whichever runs last.
 *
 * @module
 */

import { defer } from "../../mod.ts";
import type {
  AsyncStack,
  Implementation,
  SyncStack,
} from "./implementations.ts";

/** One benchmark: a group, the implementation, and the function to time. */
export interface Case {
  group: string;
  /** The scenario's key, for the report. */
  scenario: string;
  n: number;
  impl: string;
  /**
   * Sets the case up (its data, pre-filled stacks) and returns the function
   * to time. Called only for the cases that run, so a process timing one
   * group holds no other group's data in its heap.
   */
  make: () => () => void | Promise<void>;
  /** The implementation others in the group are compared with. */
  baseline: boolean;
  /**
   * Seconds per iteration: time it only a few times (the sequential side
   * of the concurrent-disposal scenario).
   */
  slow?: boolean;
}

// deno-lint-ignore no-explicit-any
const sink: any[] = [];
const noop = (): void => {};
const asyncNoop = (): void => {};

/** `n` distinct disposables, made once so creating them is not timed. */
function disposables(n: number): Disposable[] {
  return Array.from({ length: n }, () => ({ [Symbol.dispose]: noop }));
}

function asyncDisposables(n: number): AsyncDisposable[] {
  return Array.from(
    { length: n },
    () => ({ [Symbol.asyncDispose]: asyncNoop }) as unknown as AsyncDisposable,
  );
}

function throwing(rate: number) {
  let i = 0;
  const every = Math.round(1 / rate);
  return (): void => {
    if (++i % every === 0) throw new Error("cleanup failed");
  };
}

/**
 * Every case for `impl`; `"floor"` is the plain array of callbacks walked
 * backwards, which no stack can beat.
 */
export function scenarios(impl: Implementation | "floor"): Case[] {
  const out: Case[] = [];
  const name = impl === "floor" ? "floor" : impl.name;
  const add = (
    scenario: string,
    n: number,
    make: () => () => void | Promise<void>,
  ) =>
    out.push({
      group: `${scenario} n=${n}`,
      scenario,
      n,
      impl: name,
      make,
      baseline: name === "native",
    });
  const sizes = (list: number[]) =>
    list.filter((n) => impl === "floor" || n <= impl.maxN);

  // One function per scenario, taking the size as a parameter, so every
  // size of a scenario runs the same code.
  const deferRun = impl === "floor"
    ? (n: number) => {
      const fns: (() => void)[] = [];
      for (let i = 0; i < n; i++) fns.push(noop);
      for (let i = fns.length - 1; i >= 0; i--) fns[i]();
    }
    : (n: number) => {
      const s = impl.makeSync();
      for (let i = 0; i < n; i++) s.defer(noop);
      s.dispose();
    };
  for (const n of sizes([1_000, 100_000, 1_000_000])) {
    add("defer", n, () => () => deferRun(n));
  }

  const useRun = impl === "floor"
    ? (values: Disposable[]) => {
      const used: Disposable[] = [];
      for (let i = 0; i < values.length; i++) used.push(values[i]);
      for (let i = used.length - 1; i >= 0; i--) used[i][Symbol.dispose]();
    }
    : (values: Disposable[]) => {
      const s = impl.makeSync();
      for (let i = 0; i < values.length; i++) s.use(values[i]);
      s.dispose();
    };
  for (const n of sizes([1_000, 100_000, 1_000_000])) {
    add("use", n, () => {
      const values = disposables(n);
      return () => useRun(values);
    });
  }

  const asyncRun = impl === "floor"
    ? async (values: AsyncDisposable[]) => {
      const used: AsyncDisposable[] = [];
      for (let i = 0; i < values.length; i++) used.push(values[i]);
      for (let i = used.length - 1; i >= 0; i--) {
        await used[i][Symbol.asyncDispose]();
      }
    }
    : async (values: AsyncDisposable[]) => {
      const s = impl.makeAsync();
      for (let i = 0; i < values.length; i++) s.use(values[i]);
      await s.disposeAsync();
    };
  for (const n of sizes([1_000, 100_000])) {
    add("async", n, () => {
      const values = asyncDisposables(n);
      return () => asyncRun(values);
    });
  }

  if (impl !== "floor") {
    for (const n of sizes([10_000])) {
      for (const rate of [0.01, 1]) {
        add(`throwing ${rate * 100}%`, n, () => () => {
          const s = impl.makeSync();
          const fail = throwing(rate);
          for (let i = 0; i < n; i++) s.defer(fail);
          try {
            s.dispose();
          } catch (e) {
            sink[0] = e;
          }
        });
      }
    }
    for (const size of sizes([10, 1_000_000])) {
      add("move", size, () => {
        let s = impl.makeSync();
        for (let i = 0; i < size; i++) s.defer(noop);
        return () => {
          s = s.move();
        };
      });
    }
  }

  // What binding a stack to the process costs (create, 3 entries,
  // dispose): alone, the first bind installs the process listeners and the
  // last unbind removes them; with another exit-bound stack open for good,
  // only the registry is touched.
  if (impl !== "floor" && impl.name === "defer()") {
    const bindRun = (exit: boolean) => (): void => {
      const s = defer(exit ? { exit: true } : undefined);
      s.defer(noop);
      s.defer(noop);
      s.defer(noop);
      s.dispose();
    };
    for (const scenario of ["exit-bound alone", "exit-bound nested"]) {
      const group = { group: `${scenario} n=3`, scenario, n: 3 };
      const outer = (): void => {
        if (scenario === "exit-bound nested") {
          defer({ exit: true }).defer(noop); // open until the process ends
        }
      };
      out.push(
        {
          ...group,
          impl: "defer()",
          make: () => bindRun(false),
          baseline: true,
        },
        {
          ...group,
          impl: "defer({ exit })",
          make: () => (outer(), bindRun(true)),
          baseline: false,
        },
      );
    }
  }

  // Small stacks, the most common use: 1, 3 or 10 entries of mixed kinds
  // (defer, use, adopt in turn), created and disposed 10^5 times per call.
  // The floor is the same work written by hand: nested try/finally (sync),
  // awaited calls (async). For defer() also with the leak check on, and
  // exit-bound (another exit-bound stack open for good, so only the
  // registry is touched).
  const STACKS = 100_000;
  // Cleanups with an effect the compiler must keep: with empty ones, V8
  // removes the hand-written floor altogether (0.3 ns for three).
  const tally = { ticks: 0 };
  sink[1] = tally;
  const tick = (): void => {
    tally.ticks++;
  };
  const arg = (x: number): void => {
    tally.ticks += x;
  };
  const res: Disposable = { [Symbol.dispose]: tick };
  const asyncRes = {
    [Symbol.asyncDispose]: tick,
  } as unknown as AsyncDisposable;
  type Small = Pick<SyncStack, "defer" | "use" | "adopt">;
  const fill: Record<number, (s: Small) => void> = {
    1: (s) => void s.defer(tick),
    3: (s) => {
      s.defer(tick);
      s.use(res);
      s.adopt(1, arg);
    },
    10: (s) => {
      s.defer(tick);
      s.use(res);
      s.adopt(1, arg);
      s.defer(tick);
      s.use(res);
      s.adopt(2, arg);
      s.defer(tick);
      s.use(res);
      s.adopt(3, arg);
      s.defer(tick);
    },
  };
  const fillAsync: Record<number, (s: AsyncStack) => void> = {
    1: (s) => void s.defer(tick),
    3: (s) => {
      s.defer(tick);
      s.use(asyncRes);
      s.adopt(1, arg);
    },
    10: (s) => {
      s.defer(tick);
      s.use(asyncRes);
      s.adopt(1, arg);
      s.defer(tick);
      s.use(asyncRes);
      s.adopt(2, arg);
      s.defer(tick);
      s.use(asyncRes);
      s.adopt(3, arg);
      s.defer(tick);
    },
  };
  const floorSync: Record<number, () => void> = {
    1: () => {
      try {
        /* the body */
      } finally {
        tick();
      }
    },
    3: () => {
      try {
        try {
          try {
            /* the body */
          } finally {
            arg(1);
          }
        } finally {
          res[Symbol.dispose]();
        }
      } finally {
        tick();
      }
    },
    10: () => {
      try {
        try {
          try {
            try {
              try {
                try {
                  try {
                    try {
                      try {
                        try {
                          /* the body */
                        } finally {
                          tick();
                        }
                      } finally {
                        arg(3);
                      }
                    } finally {
                      res[Symbol.dispose]();
                    }
                  } finally {
                    tick();
                  }
                } finally {
                  arg(2);
                }
              } finally {
                res[Symbol.dispose]();
              }
            } finally {
              tick();
            }
          } finally {
            arg(1);
          }
        } finally {
          res[Symbol.dispose]();
        }
      } finally {
        tick();
      }
    },
  };
  const floorAsync: Record<number, () => Promise<void>> = {
    1: async () => {
      await tick();
    },
    3: async () => {
      await arg(1);
      await asyncRes[Symbol.asyncDispose]();
      await tick();
    },
    10: async () => {
      await tick();
      await arg(3);
      await asyncRes[Symbol.asyncDispose]();
      await tick();
      await arg(2);
      await asyncRes[Symbol.asyncDispose]();
      await tick();
      await arg(1);
      await asyncRes[Symbol.asyncDispose]();
      await tick();
    },
  };
  for (const k of [1, 3, 10]) {
    const sync = { group: `small sync n=${k}`, scenario: "small sync", n: k };
    const async = {
      group: `small async n=${k}`,
      scenario: "small async",
      n: k,
    };
    if (impl === "floor") {
      const once = floorSync[k];
      const onceAsync = floorAsync[k];
      add("small sync", k, () => () => {
        for (let i = 0; i < STACKS; i++) once();
      });
      add("small async", k, () => async () => {
        for (let i = 0; i < STACKS; i++) await onceAsync();
      });
      continue;
    }
    const f = fill[k];
    const fa = fillAsync[k];
    const syncRun = (make: () => SyncStack) => (): void => {
      for (let i = 0; i < STACKS; i++) {
        const s = make();
        f(s);
        s.dispose();
      }
    };
    const asyncRun = (make: () => AsyncStack) => async (): Promise<void> => {
      for (let i = 0; i < STACKS; i++) {
        const s = make();
        fa(s);
        await s.disposeAsync();
      }
    };
    add("small sync", k, () => syncRun(impl.makeSync));
    add("small async", k, () => asyncRun(impl.makeAsync));
    if (impl.name === "defer()") {
      const leakChecked = () => defer({ leakCheck: noop });
      const exitBound = () => defer({ exit: true });
      const openForGood = (): void => {
        defer({ exit: true }).defer(tick); // open until the process ends
      };
      for (
        const [variant, make] of [
          ["defer({ leakCheck })", leakChecked],
          ["defer({ exit })", exitBound],
        ] as const
      ) {
        const setUp = (): void => {
          if (make === exitBound) openForGood();
        };
        out.push(
          {
            ...sync,
            impl: variant,
            make: () => (setUp(), syncRun(make)),
            baseline: false,
          },
          {
            ...async,
            impl: variant,
            make: () => (setUp(), asyncRun(make)),
            baseline: false,
          },
        );
      }
    }
  }

  // Concurrent disposal groups (#12), against the same entries on the
  // stack itself under disposeAsync(): 1,000 cleanups that each await a
  // 2 ms timer (the stack awaits them one after another: seconds), and
  // the overhead of a group whose cleanups return at once.
  if (impl !== "floor" && impl.name === "defer()") {
    const timer = (): Promise<void> =>
      new Promise((resolve) => setTimeout(resolve, 2));
    const n = 1_000;
    const onStack = (fn: () => unknown, size: number) => async () => {
      const s = defer();
      for (let i = 0; i < size; i++) s.defer(fn);
      await s.disposeAsync();
    };
    const inGroup = (fn: () => unknown, size: number) => async () => {
      const s = defer();
      const g = s.group();
      for (let i = 0; i < size; i++) g.defer(fn);
      await s.disposeAsync();
    };
    const group = { group: `2 ms timers n=${n}`, scenario: "2 ms timers", n };
    out.push(
      {
        ...group,
        impl: "defer()",
        make: () => onStack(timer, n),
        baseline: true,
        slow: true,
      },
      {
        ...group,
        impl: "d.group()",
        make: () => inGroup(timer, n),
        baseline: false,
      },
    );
    // Cleanups that return nothing (the group awaits nothing for them) and
    // async functions (the group awaits each promise, as the stack does).
    const asyncFn = async (): Promise<void> => {};
    for (
      const [scenario, fn] of [
        ["group overhead", noop],
        ["group overhead async fns", asyncFn],
      ] as const
    ) {
      for (const size of [1_000, 100_000]) {
        const g = { group: `${scenario} n=${size}`, scenario, n: size };
        out.push(
          {
            ...g,
            impl: "defer()",
            make: () => onStack(fn, size),
            baseline: true,
          },
          {
            ...g,
            impl: "d.group()",
            make: () => inGroup(fn, size),
            baseline: false,
          },
        );
      }
    }
  }

  // Release is an extension: only defer() and the floor can do it.
  const m = 1_000_000;
  if (impl === "floor") {
    add("churn", m, () => () => {
      const fns: (() => void)[] = [noop];
      for (let i = 0; i < m; i++) {
        fns.push(noop);
        fns.pop();
      }
      for (let i = fns.length - 1; i >= 0; i--) fns[i]();
    });
    add("release half", m, () => () => {
      const fns: ((() => void) | undefined)[] = [];
      for (let i = 0; i < m; i++) fns.push(noop);
      for (let i = 0; i < m; i += 2) fns[i] = undefined;
      for (let i = fns.length - 1; i >= 0; i--) fns[i]?.();
    });
  } else if (impl.name === "defer()") {
    add("churn", m, () => () => {
      const s = defer();
      s.defer(noop);
      for (let i = 0; i < m; i++) s.defer(noop).release();
      s.dispose();
    });
    add("release half", m, () => () => {
      const s = defer();
      const handles = [];
      for (let i = 0; i < m; i++) handles.push(s.defer(noop));
      for (let i = 0; i < m; i += 2) handles[i].release();
      s.dispose();
    });
  }
  return out;
}
