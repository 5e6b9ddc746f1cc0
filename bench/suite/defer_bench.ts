/**
 * `deno bench` entry: every case of `scenarios.ts`, grouped by
 * scenario and size, with the native stack as the baseline.
 *
 * @module
 */
import { cases } from "./cases.ts";

for (const c of await cases()) {
  // Large stacks take a long time per iteration: fewer, fixed iterations.
  const big = c.n >= 100_000 && c.scenario !== "move";
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
