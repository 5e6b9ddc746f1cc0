/**
 * Runs every case of `scenarios.ts` with mitata, on whichever runtime runs
 * this file (Node, Bun or Deno), and prints the results as JSON.
 *
 * Each group (one scenario at one size, every implementation side by side)
 * runs in a fresh process of the same runtime: what the JIT learnt timing
 * one group (say, 10^3 entries, thousands of samples) must not decide how
 * the next one (10^6 entries) runs, and one group's data must not sit in
 * the heap while another is timed.
 *
 *   node --expose-gc bench/suite/driver.ts > bench/results/node.json
 *   bun bench/suite/driver.ts --filter '^defer' > /tmp/bun-defer.json
 *
 * @module
 */
import { measure } from "mitata";
import { spawnSync } from "node:child_process";
import process from "node:process";
import os from "node:os";
import { cases } from "./cases.ts";
import { runtimeInfo } from "./runtime.ts";

/** One measured case, as the report reads it. */
export interface Result {
  group: string;
  scenario: string;
  n: number;
  impl: string;
  /** Nanoseconds per iteration. */
  p50: number;
  avg: number;
  min: number;
  max: number;
  samples: number;
}

/**
 * Runs `fn` for about a second and a half before it is timed. Each group
 * starts in a fresh process, so a large case would otherwise be timed
 * while a JavaScript implementation still runs in the JIT's early tiers,
 * against a native one in C++ that needs no warming.
 */
async function warmUp(fn: () => void | Promise<void>): Promise<void> {
  const until = performance.now() + 1500;
  for (let i = 0; i < 300 && (i < 5 || performance.now() < until); i++) {
    await fn();
  }
}

/** Times every case of one group, in this process. */
async function timeGroup(group: string): Promise<Result[]> {
  const results: Result[] = [];
  const chosen = (await cases()).filter((c) => c.group === group);
  for (const c of chosen) {
    const fn = c.make();
    // Large stacks: warmed up first (see warmUp), then timed over enough
    // samples. No forced collection between samples: a full collection
    // before each one slowed defer() five-fold at 10^5 entries on V8 while
    // leaving the plain-array floor alone, and on Bun it throws away
    // JavaScriptCore's optimised code. A fresh process per group already
    // keeps other groups' data out of the heap.
    const big = c.n >= 100_000 && c.scenario !== "move";
    if (big) await warmUp(fn);
    const stats = await measure(
      fn,
      c.slow
        // Seconds per run: a handful of samples says enough.
        ? { warmup_samples: 0, min_samples: 3, max_samples: 3, min_cpu_time: 0 }
        : big
        ? {
          warmup_samples: 2,
          min_samples: 12,
          max_samples: 40,
          min_cpu_time: 1.5e9,
        }
        : {},
    );
    results.push({
      group: c.group,
      scenario: c.scenario,
      n: c.n,
      impl: c.impl,
      p50: stats.p50,
      avg: stats.avg,
      min: stats.min,
      max: stats.max,
      samples: stats.samples.length,
    });
    process.stderr.write(
      `${c.group.padEnd(24)} ${c.impl.padEnd(16)} ${
        (stats.p50 / 1e6).toFixed(3)
      } ms\n`,
    );
  }
  return results;
}

/** This runtime, started again on this file with `args`. */
function rerun(args: string[]): string[] {
  const file = new URL(import.meta.url).pathname;
  if (runtimeInfo().name === "deno") {
    return [
      process.execPath,
      "run",
      "-A",
      "--v8-flags=--expose-gc",
      file,
      ...args,
    ];
  }
  return [process.execPath, ...process.execArgv, file, ...args];
}

/** The parent: every group, each timed in a child process. */
async function timeAll(): Promise<Result[]> {
  // `--filter REGEX` keeps the groups that match, for a quicker look.
  const at = process.argv.indexOf("--filter");
  const filter = at > 0 ? new RegExp(process.argv[at + 1]) : undefined;
  const groups = [...new Set((await cases()).map((c) => c.group))]
    .filter((g) => !filter || filter.test(g));
  const results: Result[] = [];
  for (const [i, group] of groups.entries()) {
    process.stderr.write(`[${i + 1}/${groups.length}] ${group}\n`);
    const [cmd, ...args] = rerun(["--group", group]);
    const child = spawnSync(cmd, args, {
      stdio: ["ignore", "pipe", "inherit"],
      encoding: "utf8",
      maxBuffer: 64 * 1024 * 1024,
    });
    if (child.status !== 0) {
      throw new Error(`timing ${group} failed with status ${child.status}`);
    }
    results.push(...JSON.parse(child.stdout.trim().split("\n").at(-1)!));
  }
  return results;
}

const childAt = process.argv.indexOf("--group");
if (childAt > 0) {
  // A child: time one group, print its results on one line.
  console.log(JSON.stringify(await timeGroup(process.argv[childAt + 1])));
} else {
  const results = await timeAll();
  console.log(JSON.stringify(
    {
      runtime: runtimeInfo(),
      cpus: os.cpus().length,
      cpu: os.cpus()[0]?.model ?? "unknown",
      date: new Date().toISOString(),
      results,
    },
    null,
    2,
  ));
}
