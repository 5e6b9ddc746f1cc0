/**
 * Runs every case of `implementations.ts` with mitata, on whichever runtime
 * runs this file (Node, Bun or Deno), and prints the results as JSON.
 *
 *   node --expose-gc bench/driver.ts > bench/results/node.json
 *   bun bench/driver.ts --filter '^defer' > /tmp/bun-defer.json
 *
 * @module
 */
import { measure } from "mitata";
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

// `--filter REGEX` keeps the groups that match, for a quicker look.
const at = process.argv.indexOf("--filter");
const filter = at > 0 ? new RegExp(process.argv[at + 1]) : undefined;

const results: Result[] = [];
const all = (await cases()).filter((c) => !filter || filter.test(c.group));
for (const [i, c] of all.entries()) {
  // Large stacks: enough warm-up samples for the JIT to reach the code
  // users run in steady state, and on V8 a collection before every sample
  // (untimed), so each starts from the same heap. Not on Bun: a forced full
  // collection there throws away JavaScriptCore's optimised code, so every
  // sample would time a cold JavaScript stack against a native one in C++.
  const big = c.n >= 100_000 && c.scenario !== "move";
  const stats = await measure(
    c.fn,
    big
      ? {
        inner_gc: runtimeInfo().name !== "bun",
        warmup_samples: 5,
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
    `[${i + 1}/${all.length}] ${c.group.padEnd(24)} ${c.impl.padEnd(16)} ${
      (stats.p50 / 1e6).toFixed(3)
    } ms\n`,
  );
}
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
