/**
 * Checking an options object's field names. Not exported from `mod.ts`.
 *
 * @module
 */

/**
 * Throws a `TypeError` naming the first own enumerable field of `options`
 * that is not one of `fields`: a misspelt `{ exti: true }` or
 * `{ limt: 2 }` would otherwise give a stack without what was asked for,
 * and say nothing (TypeScript only checks object literals).
 *
 * @param options The options object given.
 * @param fields Every field the caller reads.
 * @param fn What was called, for the message (`"defer()"`).
 */
export function checkFields(
  options: object,
  fields: readonly string[],
  fn: string,
): void {
  for (const key of Object.keys(options)) {
    if (!fields.includes(key)) {
      throw new TypeError(
        `${fn}: unknown field ${JSON.stringify(key)}; the fields are ${
          fields.join(", ")
        }`,
      );
    }
  }
}
