/**
 * `deno bench` entry: every case of `scenarios.ts`, grouped by
 * scenario and size, with the native stack as the baseline.
 *
 * @module
 */
import { cases } from "./cases.ts";

// `-- --groups REGEX` keeps the groups that match: `bench:all` times only
// the ones the report cross-checks, since the driver times them all.
const at = Deno.args.indexOf("--groups");
const only = at >= 0 ? new RegExp(Deno.args[at + 1]) : undefined;

for (const c of await cases()) {
  if (only !== undefined && !only.test(c.group)) continue;
  // Large stacks, and small ones made 10^5 times per call, take a long
  // time per iteration: fewer, fixed iterations.
  const big = (c.n >= 100_000 && c.scenario !== "move") ||
    c.scenario.startsWith("small");
  let run: (() => void | Promise<void>) | undefined;
  Deno.bench({
    name: c.impl,
    group: c.group,
    baseline: c.baseline,
    ...(c.slow ? { n: 2, warmup: 1 } : big ? { n: 15, warmup: 3 } : {}),
    // Set up on first use (during warm-up), not for every case at once.
    fn: () => (run ??= c.make())(),
  });
}
