/**
 * What the benchmark scripts need to know about the runtime they run on.
 *
 * @module
 */
import process from "node:process";

/** The runtime's name (`deno`, `node` or `bun`) and version. */
export function runtimeInfo(): { name: string; version: string } {
  const g = globalThis as {
    Deno?: { version: { deno: string } };
    Bun?: { version: string };
  };
  if (g.Deno) return { name: "deno", version: g.Deno.version.deno };
  if (g.Bun) return { name: "bun", version: g.Bun.version };
  return { name: "node", version: process.versions.node };
}

/** A full garbage collection; needs `--expose-gc` on V8. */
export function collect(): void {
  const g = globalThis as {
    gc?: () => void;
    Bun?: { gc(sync: boolean): void };
  };
  if (g.gc) g.gc();
  else if (g.Bun) g.Bun.gc(true);
  else throw new Error("run with --expose-gc (Deno: --v8-flags=--expose-gc)");
}
