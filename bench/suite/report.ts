/**
 * Turns the benchmark results in `bench/results/` into three files:
 *
 * - `bench/README.md`, between `<!-- bench:start -->` and
 *   `<!-- bench:end -->`: the targets, the ratios per scenario, every
 *   median and the `deno bench` cross-check;
 * - `README.md` (the package page), between the same markers: a short
 *   summary, the chart and a link to `bench/README.md`;
 * - `bench/unwind.svg`, the chart: a few kilobytes of hand-written SVG,
 *   text as text.
 *
 * Reads: `<runtime>.json` from `driver.ts` (medians, one per runtime),
 * `deno-bench.json` from `deno bench --json`, `memory-<runtime>.json` from
 * `memory.ts`. Run by `deno task bench:all`.
 *
 * @module
 */
import type { Result } from "./driver.ts";

const dir = new URL("../results/", import.meta.url);
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
// Issue #11: small stacks, the common use, and no scenario behind native.
const smallGroups = [1, 3, 10].flatMap((k) => [
  `small sync n=${k}`,
  `small async n=${k}`,
]);
/** The smallest (or largest) of `x` over `list`, ignoring missing ones. */
const extreme = (xs: (number | undefined)[], pick: "min" | "max") => {
  const known = xs.filter((x): x is number => x !== undefined);
  return known.length === 0 ? undefined : Math[pick](...known);
};
target(
  "Small stacks (1, 3, 10 entries; sync and async): native ÷ defer() ≥ 2.5 (Bun ≥ 1.5), the worst of six",
  (r) => {
    const x = extreme(
      smallGroups.map((g) => ratio(r, g, "native", "defer()")),
      "min",
    );
    return {
      value: `${fmt(x)}×`,
      ok: x === undefined ? undefined : x >= (r === "bun" ? 1.5 : 2.5),
    };
  },
);
target(
  "Small sync stacks: defer() ÷ hand-written try/finally ≤ 4, the worst of three",
  (r) => {
    const x = extreme(
      [1, 3, 10].map((k) => ratio(r, `small sync n=${k}`, "defer()", "floor")),
      "max",
    );
    return { value: `${fmt(x, 1)}×`, ok: x === undefined ? undefined : x <= 4 };
  },
);
target(
  "Every scenario, every size: native ÷ defer() ≥ 1, the worst of all",
  (r) => {
    const names = [...new Set(driver[r].results.map((x) => x.group))];
    const ratios = names.map((g) => ({
      g,
      x: ratio(r, g, "native", "defer()"),
    }))
      .filter((e): e is { g: string; x: number } => e.x !== undefined);
    const worst = ratios.sort((a, b) => a.x - b.x)[0];
    return worst === undefined ? { value: "–", ok: undefined } : {
      value: `${fmt(worst.x)}× (${worst.g})`,
      ok: worst.x >= 1,
    };
  },
);
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
  "defer({ leakCheck })",
  "d.group()",
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
// Three panels (one per runtime) sharing log-log axes: entries against the
// median time to register N defer() callbacks and dispose. Hand-written so
// that the file stays small and its text stays text.
const SERIES = [
  { impl: "defer()", color: "#1f77b4" },
  { impl: "native", color: "#d62728" },
  { impl: "core-js-pure", color: "#2ca02c" },
  { impl: "disposablestack", color: "#9467bd" },
  { impl: "floor", color: "#7f7f7f" },
];
const unwind = (r: Runtime) =>
  driver[r].results.filter((x) => x.scenario === "defer");
const all = RUNTIMES.flatMap(unwind);
const decade = (x: number, round: (x: number) => number) =>
  round(Math.log10(x));
const xMin = decade(Math.min(...all.map((x) => x.n)), Math.floor);
const xMax = decade(Math.max(...all.map((x) => x.n)), Math.ceil);
const yMin = decade(Math.min(...all.map((x) => x.p50 / 1e6)), Math.floor);
const yMax = decade(Math.max(...all.map((x) => x.p50 / 1e6)), Math.ceil);
const W = 210, H = 180, LEFT = 60, TOP = 40, GAP = 30;
const px = (n: number) => (Math.log10(n) - xMin) / (xMax - xMin) * W;
const py = (ms: number) => H - (Math.log10(ms) - yMin) / (yMax - yMin) * H;
const r1 = (v: number) => Math.round(v * 10) / 10;
const power = (e: number) =>
  `10${
    String(e).replace(/\d|-/g, (c) => "⁻⁰¹²³⁴⁵⁶⁷⁸⁹"["-0123456789".indexOf(c)])
  }`;
const svg: string[] = [];
const width = LEFT + RUNTIMES.length * (W + GAP);
const height = TOP + H + 80;
svg.push(
  `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="11">`,
  `<rect width="100%" height="100%" fill="white"/>`,
  `<text x="${LEFT}" y="18" font-size="13" font-weight="bold">Register N defer() callbacks, then dispose: median time (log-log)</text>`,
);
RUNTIMES.forEach((r, i) => {
  const x0 = LEFT + i * (W + GAP);
  svg.push(`<g transform="translate(${x0},${TOP})">`);
  svg.push(
    `<text x="${W / 2}" y="-6" text-anchor="middle" font-weight="bold">${
      LABEL[r]
    } ${driver[r].runtime.version}</text>`,
  );
  // Grid and tick labels, one per decade.
  for (let e = yMin; e <= yMax; e++) {
    const y = r1(py(10 ** e));
    svg.push(`<path d="M0 ${y}H${W}" stroke="#ddd"/>`);
    if (i === 0) {
      svg.push(
        `<text x="-6" y="${y + 4}" text-anchor="end">${power(e)}</text>`,
      );
    }
  }
  for (let e = xMin; e <= xMax; e++) {
    const x = r1(px(10 ** e));
    svg.push(
      `<path d="M${x} 0V${H}" stroke="#ddd"/>`,
      `<text x="${x}" y="${H + 14}" text-anchor="middle">${power(e)}</text>`,
    );
  }
  svg.push(
    `<text x="${W / 2}" y="${H + 30}" text-anchor="middle">entries (N)</text>`,
  );
  if (i === 0) {
    svg.push(
      `<text transform="translate(-44,${
        H / 2
      }) rotate(-90)" text-anchor="middle">time (ms)</text>`,
    );
  }
  for (const { impl, color } of SERIES) {
    const pts = unwind(r).filter((x) => x.impl === impl)
      .sort((a, b) => a.n - b.n)
      .map((x) => `${r1(px(x.n))},${r1(py(x.p50 / 1e6))}`);
    if (pts.length > 1) {
      svg.push(
        `<polyline points="${
          pts.join(" ")
        }" fill="none" stroke="${color}" stroke-width="2"/>`,
      );
    }
    for (const p of pts) {
      const [cx, cy] = p.split(",");
      svg.push(`<circle cx="${cx}" cy="${cy}" r="3" fill="${color}"/>`);
    }
  }
  svg.push(`</g>`);
});
SERIES.forEach(({ impl, color }, i) => {
  const x = LEFT + i * 120;
  const y = TOP + H + 56;
  svg.push(
    `<rect x="${x}" y="${y - 9}" width="10" height="10" fill="${color}"/>`,
    `<text x="${x + 14}" y="${y}">${impl}</text>`,
  );
});
svg.push(`</svg>`);
await Deno.writeTextFile(
  new URL("../unwind.svg", import.meta.url),
  svg.join("\n") + "\n",
);

// --- bench/README.md -----------------------------------------------------
const versions = RUNTIMES.map((r) => `${LABEL[r]} ${driver[r].runtime.version}`)
  .join(", ");
const machine = `${driver.node.cpus} cores (${driver.node.cpu})`;
const date = driver.node.date.slice(0, 10);
const detail = `<!-- bench:start -->
Measured on ${date}, one machine: ${machine}; ${versions}. Generated by
\`deno task bench:all\` (\`bench/suite/report.ts\`) from the medians in
\`bench/results/\`; every implementation of a group ran right after the
others in the same process. Timings on a shared 2-core machine are noisy:
read the ratios, not the absolute times.

![Unwind time against N, log-log, one line per implementation](unwind.svg)

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

**Every median:**

| runtime | scenario | ${impls.join(" | ")} |
|${" --- |".repeat(impls.length + 2)}
${detailRows.join("\n")}

\`deno bench\` (its own sampling, averages) on the same machine:

| scenario | defer() | native | native ÷ defer() |
| --- | --- | --- | --- |
${denoRows.join("\n")}
<!-- bench:end -->`;

// --- README.md summary ---------------------------------------------------
const times = (r: Runtime, group: string) =>
  `${fmt(ratio(r, group, "native", "defer()"), 1)}×`;
const summaryRow = (name: string, group: string) =>
  `| ${name} | ${RUNTIMES.map((r) => times(r, group)).join(" | ")} |`;
const summary = `<!-- bench:start -->
How many times faster than the runtime's native stack (median of the native
stack's time ÷ median of \`defer()\`'s; below 1, \`defer()\` is slower):

| unwind | ${RUNTIMES.map((r) => LABEL[r]).join(" | ")} |
| --- | --- | --- | --- |
${summaryRow("10^6 `d.defer(fn)` entries", "defer n=1000000")}
${summaryRow("10^6 `d.use(value)` entries", "use n=1000000")}
${summaryRow("10^5 async entries, `disposeAsync()`", "async n=100000")}

A \`use()\` entry takes ${bytes("node", "defer(): use(value)")} bytes on V8
against the native stack's ${bytes("node", "native: use(value)")}. Measured on
${date} on one shared 2-core machine (${versions}).

![Unwind time against N, log-log, one line per implementation](bench/unwind.svg)

Methodology, every median, the memory per entry, the per-scenario tables and
the targets not met (mostly on Bun): [bench/README.md](bench/README.md).
<!-- bench:end -->`;

async function replaceSection(url: URL, section: string): Promise<void> {
  const text = await Deno.readTextFile(url);
  const start = text.indexOf("<!-- bench:start -->");
  const end = text.indexOf("<!-- bench:end -->");
  if (start < 0 || end < 0) throw new Error(`${url} has no bench markers`);
  await Deno.writeTextFile(
    url,
    text.slice(0, start) + section +
      text.slice(end + "<!-- bench:end -->".length),
  );
}
await replaceSection(new URL("../README.md", import.meta.url), detail);
await replaceSection(new URL("../../README.md", import.meta.url), summary);
console.log("bench/README.md, README.md and bench/unwind.svg updated");
