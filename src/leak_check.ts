/**
 * The opt-in check for stacks garbage-collected with entries still pending.
 *
 * @module
 */

import { describe } from "./describe.ts";
import { processAdapter } from "./exit_runtime.ts";

/**
 * What the leak check reports about a stack that was garbage-collected
 * without being disposed.
 *
 * @example
 * ```ts
 * import { defer, type LeakReport } from "@cleanup/defer";
 *
 * const reports: LeakReport[] = [];
 * const d = defer({ leakCheck: (report) => reports.push(report) });
 * d.dispose(); // disposed: never reported
 * ```
 */
export interface LeakReport {
  /**
   * How many entries were still pending, as `size` counts them: cleanups
   * that will never run. A group (`d.group()`) is one entry, whatever it
   * holds.
   */
  readonly pending: number;
  /**
   * Where the stack was created: the stack trace's frames, one per line,
   * innermost first, starting at the caller of `defer()` (this library's
   * own frames are left out).
   */
  readonly createdAt: string;
  /**
   * When it was found: `"collected"` when the garbage collector took the
   * stack, `"exit"` when the process ended with the stack still open (and
   * still referenced), so a short script sees its leaks too.
   */
  readonly when: "collected" | "exit";
}

/**
 * Receives a {@linkcode LeakReport}; the default one warns on the console.
 *
 * @example
 * ```ts
 * import { type LeakHandler, setLeakCheck } from "@cleanup/defer";
 *
 * // Collect, then fail the test run once it is over: a handler runs
 * // inside the garbage collector's callback, where throwing helps no one.
 * const leaked: string[] = [];
 * const collect: LeakHandler = (report) => {
 *   leaked.push(`${report.pending} cleanup(s) lost; created ${report.createdAt}`);
 * };
 * setLeakCheck(collect);
 * setLeakCheck(false);
 * ```
 */
export type LeakHandler = (report: LeakReport) => void;

/**
 * `true` to warn on the console, a function to receive each report, `false`
 * to turn the check off.
 *
 * @example
 * ```ts
 * import { defer, type LeakCheckOption } from "@cleanup/defer";
 *
 * const option: LeakCheckOption = true; // warn on the console
 * const d = defer({ leakCheck: option });
 * d.dispose();
 * ```
 */
export type LeakCheckOption = boolean | LeakHandler;

/**
 * What a leak-checked stack shares with the registry: its pending count,
 * and nothing that reaches its entries. A `FinalizationRegistry` holds
 * this strongly, so an entry reachable from here that refers back to the
 * stack (a cleanup closing over it, a class that owns it) would keep the
 * stack alive for good, and it would never be reported.
 */
export interface LeakWatch {
  /** The stack's counts while it owns them; `null` once disposed or moved. */
  tally: { readonly live: number } | null;
  readonly createdAt: string;
  readonly handler: LeakHandler;
  /**
   * The stack is exit-bound: the exit machinery disposes it as the process
   * ends, after this check's own exit listener (installed earlier) ran, so
   * it is not reported then.
   */
  readonly exitBound: boolean;
}

// Read through globalThis: the package is also compiled for npm without
// DOM or Node typings, and every runtime it supports has a console.
const console = (globalThis as unknown as {
  console: { warn(...data: unknown[]): void };
}).console;

function warn(report: LeakReport): void {
  const trace = report.createdAt.split("\n").map((frame) => `    ${frame}`)
    .join("\n");
  const what = report.when === "exit"
    ? "was still open when the process ended"
    : "was garbage-collected";
  console.warn(
    `@cleanup/defer: a DeferStack ${what} with ${report.pending} pending cleanup(s) that never ran. Dispose it (using / await using / dispose()). It was created:\n${trace}`,
  );
}

// This library's own files, as stack traces name them (a URL on Deno and
// Node, a path on Bun): their frames say nothing about the caller's code.
// Plain string work: the npm build is compiled without DOM or Node types.
const ownUrl = (import.meta as { url?: string }).url ?? "";
const ownDirectory = ownUrl.slice(0, ownUrl.lastIndexOf("/") + 1);
const ownPrefixes = ownDirectory === "" ? [] : [ownDirectory];
if (ownDirectory.startsWith("file://")) {
  ownPrefixes.push(decodeURIComponent(ownDirectory.slice("file://".length)));
}

/** A function or a class: where `captureStackTrace()` may cut a trace. */
type AnyFunction =
  | ((...args: never[]) => unknown)
  | (abstract new (...args: never[]) => unknown);

const captureStackTrace = (Error as {
  captureStackTrace?: (holder: object, below: AnyFunction) => void;
}).captureStackTrace;

/**
 * The functions through which the application creates stacks (`defer()`,
 * `scope()`): a creation trace starts at their caller when one of them
 * called the constructor.
 */
const entryPoints: AnyFunction[] = [];

/** Adds `fn` to the entry points. */
export function createsStacks(fn: AnyFunction): void {
  entryPoints.push(fn);
}

/**
 * The frames of the current stack trace from the caller of the stack's
 * creation: of the entry point that called `constructor` (`defer()`,
 * `scope()`), else of `constructor` itself. Engines that can cut a trace
 * at a function (V8, JavaScriptCore) cut it there; elsewhere the frames
 * of this library's files are left out, which a bundle (this library in
 * the application's file) would not tell apart.
 */
export function callerFrames(constructor: AnyFunction): string {
  const below = framesBelow(constructor);
  if (below.length > 0) {
    // An entry point called the constructor when its caller's frame
    // comes right after the constructor's caller's (the entry point's).
    for (const entry of entryPoints) {
      const frames = framesBelow(entry);
      if (frames.length > 0 && frames[0] === below[1]) {
        return keepTo(frames).join("\n");
      }
    }
    return keepTo(below).join("\n");
  }
  return framesOf(new Error().stack)
    .filter((frame) => !ownPrefixes.some((prefix) => frame.includes(prefix)))
    .join("\n");
}

/**
 * The frames below the innermost call of `fn`: none where unsupported.
 * At least two are taken, to tell the entry point that called the
 * constructor (see {@linkcode callerFrames}); the result keeps to
 * `Error.stackTraceLimit` (read from its data property, never a getter).
 */
function framesBelow(fn: AnyFunction): string[] {
  if (typeof captureStackTrace !== "function") return [];
  const limit = Object.getOwnPropertyDescriptor(Error, "stackTraceLimit");
  const raise = limit !== undefined && limit.writable === true &&
    typeof limit.value === "number" && limit.value >= 1 && limit.value < 2;
  const holder: { stack?: string } = {};
  try {
    if (raise) {
      (Error as unknown as { stackTraceLimit: number }).stackTraceLimit = 2;
    }
    captureStackTrace(holder, fn);
  } catch {
    return [];
  } finally {
    if (raise) {
      (Error as unknown as { stackTraceLimit: number }).stackTraceLimit =
        limit.value;
    }
  }
  return framesOf(holder.stack);
}

/** `frames` cut to `Error.stackTraceLimit`, if it is a number. */
function keepTo(frames: string[]): string[] {
  const limit = Object.getOwnPropertyDescriptor(Error, "stackTraceLimit");
  return limit !== undefined && typeof limit.value === "number"
    ? frames.slice(0, Math.max(0, limit.value))
    : frames;
}

/** A trace's frames, one per line, trimmed: its first line is the error. */
function framesOf(stack: unknown): string[] {
  if (typeof stack !== "string") return [];
  return stack.split("\n").slice(1).map((frame) => frame.trim())
    .filter((frame) => frame !== "");
}

/** The handler every new stack gets unless its options say otherwise. */
let globalHandler: LeakHandler | null = null;

/**
 * Turns the leak check on or off for every stack created from now on, for
 * example in a test suite's setup. A stack garbage-collected while it still
 * has pending entries is then reported, with where it was created. Off by
 * default; when off it costs nothing (no stack trace is captured).
 *
 * Reports arrive when the garbage collector runs, not at a fixed time, and,
 * for stacks still open and referenced, when the process ends (on Deno,
 * not when it ends by an uncaught error).
 *
 * @param option `true` to warn on the console, a function to receive each
 * {@linkcode LeakReport}, `false` to turn the check off.
 *
 * @example
 * ```ts
 * import { type LeakReport, setLeakCheck } from "@cleanup/defer";
 *
 * const leaks: LeakReport[] = [];
 * setLeakCheck((report) => leaks.push(report));
 * // ... run the tests; a forgotten stack shows up in `leaks` ...
 * setLeakCheck(false);
 * ```
 */
export function setLeakCheck(option: LeakCheckOption): void {
  globalHandler = handlerOf(option, "setLeakCheck(): option");
}

/** Whether {@linkcode setLeakCheck} turned the check on for new stacks. */
export function leakCheckDefault(): boolean {
  return globalHandler !== null;
}

/** The handler for a stack created with `option` (undefined: the global). */
export function leakHandlerFor(
  option: LeakCheckOption | undefined,
): LeakHandler | null {
  return option === undefined
    ? globalHandler
    : handlerOf(option, "DeferStack: options.leakCheck");
}

/** `what` names the argument in the error: the call and the parameter. */
function handlerOf(option: LeakCheckOption, what: string): LeakHandler | null {
  if (option === true) return warn;
  if (option === false) return null;
  if (typeof option === "function") return option;
  throw new TypeError(
    `${what} must be a boolean or a function, got ${describe(option)}`,
  );
}

/** Every watch of a stack still open: what is reported at process exit. */
const open = new Set<LeakWatch>();
let reportingAtExit = false;

function report(watch: LeakWatch, when: LeakReport["when"]): void {
  open.delete(watch);
  const tally = watch.tally;
  if (tally === null || tally.live === 0) return;
  watch.tally = null; // reported once, whichever comes first
  watch.handler({ pending: tally.live, createdAt: watch.createdAt, when });
}

const registry = new FinalizationRegistry<LeakWatch>((watch) => {
  report(watch, "collected");
});

function reportOpenAtExit(): void {
  for (const watch of [...open]) {
    if (!watch.exitBound) report(watch, "exit");
  }
}

/**
 * Starts watching `stack`; the caller keeps the watch up to date. A stack
 * that `move()` made keeps the `createdAt` of the one it came from.
 * `exitBound`: see {@linkcode LeakWatch.exitBound}.
 */
export function watch(
  stack: object,
  tally: { readonly live: number },
  handler: LeakHandler,
  createdAt: string,
  exitBound = false,
): LeakWatch {
  const w: LeakWatch = { tally, createdAt, handler, exitBound };
  registry.register(stack, w, stack);
  open.add(w);
  if (!reportingAtExit) {
    // One listener for good, installed with the first watch: it keeps
    // nothing alive and changes nothing about how the process ends.
    reportingAtExit = true;
    processAdapter()?.atExit(reportOpenAtExit);
  }
  return w;
}

/** Stops watching `stack`: it was disposed or moved. */
export function unwatch(stack: object, w: LeakWatch): void {
  w.tally = null;
  open.delete(w);
  registry.unregister(stack);
}
