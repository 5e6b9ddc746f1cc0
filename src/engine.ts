/**
 * What the engine must have: the symbols of explicit resource management.
 * Not exported from `mod.ts`.
 *
 * @module
 */

/**
 * The message for an engine without `Symbol.dispose` or
 * `Symbol.asyncDispose`, naming what is missing, or `null` if both exist.
 *
 * @param symbol The `Symbol` constructor to look at.
 */
export function missingSymbols(
  symbol: { readonly dispose?: unknown; readonly asyncDispose?: unknown },
): string | null {
  const missing: string[] = [];
  if (typeof symbol.dispose !== "symbol") missing.push("Symbol.dispose");
  if (typeof symbol.asyncDispose !== "symbol") {
    missing.push("Symbol.asyncDispose");
  }
  if (missing.length === 0) return null;
  return `@cleanup/defer needs ${
    missing.join(" and ")
  } (explicit resource management), which this JavaScript engine does not have. Node 22 and later, Deno 2, Bun 1.0.23 and later, Chrome and Edge 134 and Firefox 141 have them; elsewhere, load a polyfill of these symbols first.`;
}

/** This engine's message: `null` where the package can run. */
export const unsupported: string | null = missingSymbols(Symbol);
