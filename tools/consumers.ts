/**
 * Builds the package the way JSR serves it to npm users (JavaScript plus
 * `.d.ts`, compiled by `tsc`, packed by `npm pack`), installs it into
 * throwaway consumer projects in a temporary directory, and runs each:
 *
 * 1. Node 26, plain ESM JavaScript with native `using` / `await using`;
 * 2. Node 22, plain ESM JavaScript without the syntax;
 * 3. TypeScript compiled by `tsc` (target ES2022), which down-levels the
 *    syntax and checks the types, run on Node 22;
 * 4. the same TypeScript bundled by `esbuild` for Node 22;
 * 5. Bun 1.4.4 running the syntax consumer.
 *
 * Run with `deno task test:consumers` (after `deno install`).
 *
 * @module
 */

import { run } from "./run.ts";

const root = new URL("../", import.meta.url).pathname;
const fixtures = `${root}tests/consumers/`;
const tsc = `${root}node_modules/typescript/bin/tsc`;
const esbuild = `${root}node_modules/esbuild/bin/esbuild`;

const tmp = await Deno.makeTempDir({ prefix: "defer-consumers-" });
try {
  // The package: compiled JavaScript and declarations, no TypeScript.
  const pkg = `${tmp}/package`;
  await run([
    "node",
    tsc,
    "--project",
    `${root}tools/tsconfig.build.json`,
    "--outDir",
    pkg,
  ], root);
  const config = JSON.parse(await Deno.readTextFile(`${root}deno.json`));
  await Deno.writeTextFile(
    `${pkg}/package.json`,
    JSON.stringify(
      {
        name: config.name,
        version: config.version,
        license: config.license,
        type: "module",
        exports: { ".": { types: "./mod.d.ts", default: "./mod.js" } },
      },
      null,
      2,
    ),
  );
  for await (const entry of Deno.readDir(pkg)) {
    if (entry.name.endsWith(".ts") && !entry.name.endsWith(".d.ts")) {
      throw new Error(`TypeScript source in the package: ${entry.name}`);
    }
  }
  const packed =
    (await run(["npm", "pack", "--silent", "--pack-destination", tmp], pkg))
      .trim().split("\n").at(-1)!;
  const tarball = `${tmp}/${packed}`;

  const consumer = async (
    name: string,
    files: string[],
    extra: string[] = [],
  ) => {
    // A consumer project with the package installed from the tarball.
    const dir = `${tmp}/${name}`;
    await Deno.mkdir(dir);
    await Deno.writeTextFile(
      `${dir}/package.json`,
      JSON.stringify({ name, private: true, type: "module" }),
    );
    for (const f of files) {
      await Deno.copyFile(`${fixtures}${f}`, `${dir}/${f}`);
    }
    await run(
      [
        "npm",
        "install",
        "--no-audit",
        "--no-fund",
        "--silent",
        tarball,
        ...extra,
      ],
      dir,
    );
    return dir;
  };

  // Each line names the runtime (printed by the fixture, which knows where
  // it runs) and what compiled the fixture, if anything.
  const results: string[] = [];
  const report = (output: string, compiler: string) => {
    results.push(output);
    console.log(`${output.trim().split("\n").at(-1)} (${compiler})`);
  };
  const tscVersion = (await run(["node", tsc, "--version"], root)).trim();
  const esbuildVersion = (await run([esbuild, "--version"], root)).trim();
  const none = "no compiler: JavaScript as written";
  const js = await consumer("js", ["syntax.mjs", "plain.mjs"]);
  report(await run(["npx", "-y", "node@26", "syntax.mjs"], js), none);
  report(await run(["npx", "-y", "node@22", "plain.mjs"], js), none);
  report(await run(["npx", "-y", "node@26", "plain.mjs"], js), none);
  report(await run(["npx", "-y", "bun@1.4.4", "syntax.mjs"], js), none);

  const ts = await consumer("ts", ["typed.ts", "tsconfig.json"], [
    "@types/node@22",
  ]);
  await run(["node", tsc, "--project", "tsconfig.json"], ts);
  const lowered = await Deno.readTextFile(`${ts}/out/typed.js`);
  if (/\busing\s+d\b/.test(lowered)) {
    throw new Error("tsc left `using` in its output: nothing was lowered");
  }
  report(
    await run(["npx", "-y", "node@22", "out/typed.js"], ts),
    `compiled by tsc ${tscVersion.replace(/^Version /, "")}, target ES2022`,
  );
  await run([
    esbuild,
    "typed.ts",
    "--bundle",
    "--platform=node",
    "--format=esm",
    "--target=node22",
    "--outfile=out/bundled.mjs",
  ], ts);
  report(
    await run(["npx", "-y", "node@22", "out/bundled.mjs"], ts),
    `bundled by esbuild ${esbuildVersion}, target node22`,
  );

  console.log(`${results.length} passed, 0 failed`);
} finally {
  await Deno.remove(tmp, { recursive: true });
}
