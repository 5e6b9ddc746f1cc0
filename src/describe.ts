/**
 * How error messages show a bad value. Not exported from `mod.ts`.
 *
 * @module
 */

/**
 * A short picture of `value` for an error message: its type and, for a
 * primitive, the value itself (`the number 42`, `the string "x"`,
 * `undefined`), for a function its name, for an object its class. Never
 * throws, whatever getters or proxies `value` has.
 */
export function describe(value: unknown): string {
  switch (typeof value) {
    case "undefined":
      return "undefined";
    case "string":
      return `the string ${
        JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value)
      }`;
    case "symbol":
      return `the symbol ${value.description ?? ""}`.trimEnd();
    case "bigint":
      return `the bigint ${value}n`;
    case "function":
      return value.name ? `the function ${value.name}` : "a function";
    case "object": {
      if (value === null) return "null";
      if (Array.isArray(value)) return "an array";
      const name = constructorName(value);
      return name === undefined || name === "Object"
        ? "an object"
        : `an instance of ${name}`;
    }
    default: // number, boolean
      return `the ${typeof value} ${String(value)}`;
  }
}

/** The name of the object's constructor, if reading it is harmless. */
function constructorName(value: object): string | undefined {
  try {
    const name = (value as { constructor?: { name?: unknown } }).constructor
      ?.name;
    return typeof name === "string" && name !== "" ? name : undefined;
  } catch {
    return undefined;
  }
}
