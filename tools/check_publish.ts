/**
 * Runs `deno publish --dry-run` (which also rejects slow types) and checks
 * the file list: everything a user needs is published, and nothing else —
 * no tests, benchmark code, examples, tools or CI files. Also checks that
 * the published `deno.json` names no dependencies (the development ones
 * live in the workspace members `tests/`, `tools/` and `bench/suite/`) and
 * that the chart the README shows stays small.
 *
 * @module
 */

import { run } from "./run.ts";

const root = new URL("../", import.meta.url);
const text = await run(
  [Deno.execPath(), "publish", "--dry-run", "--allow-dirty"],
  root,
);

// deno lists each file as "   file:///…/path (size)".
const published = [...text.matchAll(/file:\/\/(\S+) \(/g)]
  .map((m) => m[1].slice(root.pathname.length))
  .sort();

const allowed = [
  /^mod\.ts$/,
  /^src\/[a-z_]+\.ts$/,
  /^README\.md$/,
  /^LICENSE$/,
  /^deno\.json$/,
  /^bench\/unwind\.svg$/,
  /^bench\/README\.md$/,
];
const unexpected = published.filter((f) => !allowed.some((re) => re.test(f)));

// The README shows the chart and links the benchmark details: both must be
// in the package for JSR to render them without a linked repository.
const required = [
  "mod.ts",
  "README.md",
  "LICENSE",
  "deno.json",
  "bench/unwind.svg",
  "bench/README.md",
];
for await (const entry of Deno.readDir(new URL("src/", root))) {
  if (entry.name.endsWith(".ts")) required.push(`src/${entry.name}`);
}
const missing = required.filter((f) => !published.includes(f));

if (unexpected.length > 0 || missing.length > 0) {
  throw new Error(
    `publish file list is wrong.\nunexpected: ${
      unexpected.join(", ")
    }\nmissing: ${missing.join(", ")}\npublished: ${published.join(", ")}`,
  );
}
const config = JSON.parse(await Deno.readTextFile(new URL("deno.json", root)));
if (config.imports !== undefined || config.scopes !== undefined) {
  throw new Error(
    "the published deno.json has imports: development dependencies belong " +
      "in a workspace member's deno.json",
  );
}

const chart = await Deno.stat(new URL("bench/unwind.svg", root));
if (chart.size > 16_000) {
  throw new Error(`bench/unwind.svg is ${chart.size} bytes: keep it small`);
}
console.log(`publish dry run: ${published.length} files, as expected`);
