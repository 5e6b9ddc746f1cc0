/**
 * Every benchmark case on this runtime, each implementation with its own
 * copy of the scenario code (see `scenarios.ts` for why).
 *
 * @module
 */

import { implementations } from "./implementations.ts";
import type { Case } from "./scenarios.ts";

export type { Case };

type ScenariosModule = typeof import("./scenarios.ts");

/** Loads a fresh instance of `scenarios.ts` for each implementation. */
export async function cases(): Promise<Case[]> {
  const out: Case[] = [];
  for (const impl of [...implementations, "floor" as const]) {
    const key = impl === "floor" ? "floor" : impl.name;
    const url = new URL(
      `./scenarios.ts?impl=${encodeURIComponent(key)}`,
      import.meta.url,
    );
    const mod: ScenariosModule = await import(url.href);
    out.push(...mod.scenarios(impl));
  }
  // Side by side: every implementation of a group runs right after the
  // others, under the same heap and machine conditions.
  const order = new Map<string, number>();
  for (const c of out) if (!order.has(c.group)) order.set(c.group, order.size);
  return out.sort((a, b) => order.get(a.group)! - order.get(b.group)!);
}
