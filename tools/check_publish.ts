/**
 * Runs `deno publish --dry-run` (which also rejects slow types) and checks
 * the file list: everything a user needs is published, and nothing else —
 * no tests, benchmarks, examples, tools or CI files.
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
];
const unexpected = published.filter((f) => !allowed.some((re) => re.test(f)));

const required = ["mod.ts", "README.md", "LICENSE", "deno.json"];
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
console.log(`publish dry run: ${published.length} files, as expected`);
