/**
 * Turns the benchmark results in `bench/results/` into the README's
 * performance section (between `<!-- bench:start -->` and
 * `<!-- bench:end -->`) and the chart `bench/unwind.svg`.
 *
 * Reads: `<runtime>.json` from `driver.ts` (medians, one per runtime),
 * `deno-bench.json` from `deno bench --json`, `memory-<runtime>.json` from
 * `memory.ts`. Run by `deno task bench:all`.
 *
 * @module
 */
import * as vega from "vega";
import * as vegaLite from "vega-lite";
import type { Result } from "./driver.ts";

const dir = new URL("./results/", import.meta.url);
const RUNTIMES = ["deno", "node", "bun"] as const;
type Runtime = typeof RUNTIMES[number];
const LABEL: Record<Runtime, string> = {
  deno: "Deno",
  node: "Node",
  bun: "Bun",
};

interface DriverFile {
  runtime: { name: string; version: string };
  cpus: number;
  cpu: string;
  date: string;
  results: Result[];
}
interface MemoryFile {
  runtime: { name: string; version: string };
  bytesPerEntry: Record<string, number>;
}
interface DenoBenchFile {
  runtime: string;
  benches: {
    group: string | null;
    name: string;
    results: { ok?: { avg: number } }[];
  }[];
}

async function readJson<T>(name: string): Promise<T> {
  return JSON.parse(await Deno.readTextFile(new URL(name, dir))) as T;
}

const driver = {} as Record<Runtime, DriverFile>;
const memory = {} as Record<Runtime, MemoryFile>;
for (const r of RUNTIMES) {
  driver[r] = await readJson<DriverFile>(`${r}.json`);
  memory[r] = await readJson<MemoryFile>(`memory-${r}.json`);
}
const denoBench = await readJson<DenoBenchFile>("deno-bench.json");

function median(r: Runtime, group: string, impl: string): number | undefined {
  return driver[r].results.find((x) => x.group === group && x.impl === impl)
    ?.p50;
}

/** `a / b` of two medians, or undefined when either is missing. */
function ratio(
  r: Runtime,
  group: string,
  a: string,
  b: string,
): number | undefined {
  const x = median(r, group, a);
  const y = median(r, group, b);
  return x === undefined || y === undefined || y === 0 ? undefined : x / y;
}

const fmt = (x: number | undefined, digits = 2) =>
  x === undefined ? "–" : x.toFixed(digits);

function time(ns: number | undefined): string {
  if (ns === undefined) return "–";
  if (ns >= 1e6) return `${(ns / 1e6).toFixed(1)} ms`;
  if (ns >= 1e3) return `${(ns / 1e3).toFixed(1)} µs`;
  return `${ns.toFixed(0)} ns`;
}

const mark = (ok: boolean | undefined) =>
  ok === undefined ? "–" : ok ? "met" : "**not met**";

// --- targets -------------------------------------------------------------
const targetRows: string[] = [];
function target(
  name: string,
  per: (r: Runtime) => { value: string; ok: boolean | undefined },
) {
  const cells = RUNTIMES.map((r) => {
    const { value, ok } = per(r);
    return `${value} (${mark(ok)})`;
  });
  targetRows.push(`| ${name} | ${cells.join(" | ")} |`);
}

target("Sync unwind, 10^6 entries: native ÷ defer() ≥ 3 (Bun ≥ 1.5)", (r) => {
  const x = ratio(r, "defer n=1000000", "native", "defer()");
  return {
    value: `${fmt(x)}×`,
    ok: x === undefined ? undefined : x >= (r === "bun" ? 1.5 : 3),
  };
});
target("Sync unwind, 10^6 entries: defer() ÷ floor ≤ 2", (r) => {
  const x = ratio(r, "defer n=1000000", "defer()", "floor");
  return { value: `${fmt(x)}×`, ok: x === undefined ? undefined : x <= 2 };
});
target("Async unwind, 10^5 entries: native ÷ defer() ≥ 2 (Bun ≥ 1)", (r) => {
  const x = ratio(r, "async n=100000", "native", "defer()");
  return {
    value: `${fmt(x)}×`,
    ok: x === undefined ? undefined : x >= (r === "bun" ? 1 : 2),
  };
});
const bytes = (r: Runtime, key: string) => memory[r].bytesPerEntry[key];
target("Bytes per `use()` entry ≤ native's", (r) => {
  const ours = bytes(r, "defer(): use(value)");
  const native = bytes(r, "native: use(value)");
  return { value: `${ours} vs ${native}`, ok: ours <= native };
});
target("Bytes per `defer()` entry, handle kept, ≤ 1.5 × native's", (r) => {
  // The caller's own array holding the handles is not the handle's cost.
  const ours = bytes(r, "defer(): defer(fn), handles kept") -
    bytes(r, "caller's array of references");
  const native = bytes(r, "native: defer(fn)");
  return {
    value: `${ours.toFixed(1)} vs ${native} (${(ours / native).toFixed(2)}×)`,
    ok: ours <= 1.5 * native,
  };
});
target(
  "`move()` of 10^6 entries ÷ `move()` of 10 (constant time: ≈ 1)",
  (r) => {
    const big = median(r, "move n=1000000", "defer()");
    const small = median(r, "move n=10", "defer()");
    const x = big !== undefined && small ? big / small : undefined;
    return { value: `${fmt(x)}`, ok: x === undefined ? undefined : x < 1.5 };
  },
);

// --- ratios per scenario -------------------------------------------------
const groups = [...new Set(driver.node.results.map((x) => x.group))];
const ratioRows = groups.map((g) => {
  const cells = RUNTIMES.flatMap((r) => [
    fmt(ratio(r, g, "native", "defer()")),
    fmt(ratio(r, g, "defer()", "floor")),
  ]);
  return `| ${g} | ${cells.join(" | ")} |`;
});

// --- every median --------------------------------------------------------
const impls = [
  "defer()",
  "native",
  "core-js-pure",
  "disposablestack",
  "floor",
  "defer({ exit })",
];
const detailRows = RUNTIMES.flatMap((r) =>
  groups.map((g) =>
    `| ${LABEL[r]} | ${g} | ${
      impls.map((i) => time(median(r, g, i))).join(" | ")
    } |`
  )
);

// --- deno bench cross-check ----------------------------------------------
const denoAvg = (group: string, name: string) =>
  denoBench.benches.find((b) => b.group === group && b.name === name)
    ?.results[0]?.ok?.avg;
const denoRows = ["defer n=1000000", "use n=1000000", "async n=100000"].map(
  (g) => {
    const x = denoAvg(g, "native");
    const y = denoAvg(g, "defer()");
    return `| ${g} | ${time(y)} | ${time(x)} | ${
      fmt(x !== undefined && y ? x / y : undefined)
    }× |`;
  },
);

// --- chart ---------------------------------------------------------------
const points = RUNTIMES.flatMap((r) =>
  driver[r].results
    .filter((x) => x.scenario === "defer")
    .map((x) => ({
      runtime: `${LABEL[r]} ${driver[r].runtime.version}`,
      implementation: x.impl,
      entries: x.n,
      ms: x.p50 / 1e6,
    }))
);
const spec: vegaLite.TopLevelSpec = {
  $schema: "https://vega.github.io/schema/vega-lite/v6.json",
  title: "Register N defer() callbacks, then dispose (median, log-log)",
  data: { values: points },
  facet: { column: { field: "runtime", type: "nominal", title: null } },
  spec: {
    width: 220,
    height: 220,
    mark: { type: "line", point: true },
    encoding: {
      x: {
        field: "entries",
        type: "quantitative",
        scale: { type: "log" },
        title: "entries (N)",
      },
      y: {
        field: "ms",
        type: "quantitative",
        scale: { type: "log" },
        title: "time (ms)",
      },
      color: { field: "implementation", type: "nominal" },
    },
  },
  config: { background: "white" },
};
const view = new vega.View(vega.parse(vegaLite.compile(spec).spec), {
  renderer: "none",
});
await Deno.writeTextFile(
  new URL("../unwind.svg", dir),
  await view.toSVG(),
);
view.finalize();

// --- README --------------------------------------------------------------
const versions = RUNTIMES.map((r) => `${LABEL[r]} ${driver[r].runtime.version}`)
  .join(", ");
const machine = `${driver.node.cpus} cores (${driver.node.cpu})`;
const date = driver.node.date.slice(0, 10);
const section = `<!-- bench:start -->
Measured on ${date}, one machine: ${machine}; ${versions}. Generated by
\`deno task bench:all\` (\`bench/report.ts\`) from the medians in
\`bench/results/\`; every implementation of a group ran right after the
others in the same process. Timings on a shared 2-core machine are noisy:
read the ratios, not the absolute times.

**Targets** (ratios of medians from the same run; Deno, Node, Bun):

| target | ${RUNTIMES.map((r) => LABEL[r]).join(" | ")} |
| --- | --- | --- | --- |
${targetRows.join("\n")}

Also tested in the suite (not timed): 10^6 register/release cycles keep the
heap bounded, a released cleanup and its arguments are collectable at once,
and disposing 10^6 entries that all throw completes with all 10^6 errors in
the chain (\`tests/large_stacks.test.ts\`).

**Ratios per scenario**: native ÷ \`defer()\` (above 1: \`defer()\` is
faster) and \`defer()\` ÷ floor (the floor is a plain array of callbacks
called in reverse: no stack can beat it). \`churn\` and \`release half\` have
no native counterpart (the standard cannot release an entry).

| scenario | Deno vs native | Deno vs floor | Node vs native | Node vs floor | Bun vs native | Bun vs floor |
| --- | --- | --- | --- | --- | --- | --- |
${ratioRows.join("\n")}

![Unwind time against N, log-log, one line per implementation](bench/unwind.svg)

<details><summary>Every median</summary>

| runtime | scenario | ${impls.join(" | ")} |
| --- | --- | --- | --- | --- | --- | --- |
${detailRows.join("\n")}

\`deno bench\` (its own sampling, averages) on the same machine:

| scenario | defer() | native | native ÷ defer() |
| --- | --- | --- | --- |
${denoRows.join("\n")}

</details>
<!-- bench:end -->`;

const readmeUrl = new URL("../../README.md", dir);
const readme = await Deno.readTextFile(readmeUrl);
const start = readme.indexOf("<!-- bench:start -->");
const end = readme.indexOf("<!-- bench:end -->");
if (start < 0 || end < 0) throw new Error("README.md has no bench markers");
await Deno.writeTextFile(
  readmeUrl,
  readme.slice(0, start) + section +
    readme.slice(end + "<!-- bench:end -->".length),
);
console.log("README.md and bench/unwind.svg updated");
