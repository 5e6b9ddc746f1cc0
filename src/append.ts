/**
 * Appending one list to another. Not exported from `mod.ts`.
 *
 * @module
 */

/**
 * Pushes every item of `from` onto `to`, one at a time: `to.push(...from)`
 * passes each item as an argument, and a list of names of a large stack
 * or group (10^5 and more) overflows the call stack that way.
 */
export function appendAll<T>(to: T[], from: readonly T[]): void {
  for (let i = 0; i < from.length; i++) to.push(from[i]);
}
