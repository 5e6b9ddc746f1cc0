/**
 * Exit-bound stacks: `defer({ exit: true })` and {@linkcode setExitPolicy}.
 *
 * The registry of open exit-bound stacks, the listeners it installs while
 * it is not empty, and what happens on each way out of the process. The
 * runtime differences live in `exit_runtime.ts`.
 *
 * @module
 */

import { appendAll } from "./append.ts";
import { checkFields } from "./options.ts";
import type { DeferStack } from "./defer_stack.ts";
import {
  type DisposeTimeoutError,
  drainSync,
  finishDrains,
  finishSyncUnder,
  isDisposeTimeoutError,
} from "./dispose_limit.ts";
import {
  abortController,
  type AbortControllerLike,
  clearTimer,
  type CrashKind,
  type ProcessAdapter,
  processAdapter,
  setTimer,
  sharedByCopies,
  SIGNALS,
} from "./exit_runtime.ts";
import {
  failedName,
  notAwaited,
  Slots,
  Took,
  watchedCalls,
  type Watcher,
} from "./slots.ts";
import { describe } from "./describe.ts";
import { runningAtExit, stopGroup, type Stopped } from "./defer_group.ts";
import { suppress } from "./suppressed_error.ts";

/**
 * A signal that can end the process through its exit-bound stacks. Windows
 * has only `SIGINT` and `SIGBREAK`; the others are skipped there.
 *
 * @example
 * ```ts
 * import { type ExitSignal, setExitPolicy } from "@cleanup/defer";
 *
 * const signals: ExitSignal[] = ["SIGINT", "SIGTERM", "SIGHUP"];
 * setExitPolicy({ signals });
 * setExitPolicy({}); // back to the defaults
 * ```
 */
export type ExitSignal =
  | "SIGINT"
  | "SIGTERM"
  | "SIGHUP"
  | "SIGQUIT"
  | "SIGUSR2"
  | "SIGBREAK";

/**
 * The process-wide settings of exit-bound stacks, for
 * {@linkcode setExitPolicy}. A field left out takes its default.
 *
 * @example
 * ```ts
 * import { type ExitPolicy, setExitPolicy } from "@cleanup/defer";
 *
 * const policy: ExitPolicy = {
 *   signals: ["SIGINT", "SIGTERM"],
 *   timeout: 25_000, // Kubernetes waits 30 s before SIGKILL
 *   report: true,
 * };
 * setExitPolicy(policy);
 * setExitPolicy({});
 * ```
 */
export interface ExitPolicy {
  /**
   * The signals that dispose the open exit-bound stacks and then end the
   * process. Default `["SIGINT", "SIGTERM"]`; add `"SIGHUP"` for a
   * terminal closing, `"SIGBREAK"` for Ctrl-Break on Windows.
   */
  signals?: readonly ExitSignal[];
  /**
   * The deadline for the whole exit cleanup, in milliseconds: past it, the
   * process ends with what is still running named in the report. Default
   * 10 000; `false` or `Infinity` for none. Its timer keeps the event loop
   * alive only during the natural end's cleanup (so that a cleanup waiting
   * for nothing meets it); after a signal or a crash it does not.
   */
  timeout?: number | false;
  /**
   * `true` (the default): print problems to stderr (cleanup errors, a
   * deadline passed, skipped or not awaited cleanups); `false`: silent; a
   * function: receives every {@linkcode ExitReport}, problems or not, and
   * nothing is printed.
   */
  report?: boolean | ExitReportHandler;
  /**
   * After a signal's cleanup, exit with this status (0–255) instead of
   * ending as killed by the signal (status 128 + n as a shell shows it).
   */
  exitCode?: number;
}

/** How the process was ending when its exit-bound stacks were disposed. */
export type ExitCause =
  | "signal"
  | "natural"
  | "uncaughtException"
  | "unhandledRejection"
  | "exit";

/**
 * What {@linkcode setExitPolicy}'s `report` function receives once the exit
 * cleanup is over, just before the process ends.
 *
 * @example
 * ```ts
 * import { type ExitReport, setExitPolicy } from "@cleanup/defer";
 *
 * setExitPolicy({
 *   report(r: ExitReport) {
 *     if (r.cut !== null) {
 *       console.error(`gave up (${r.cut}); still running: ${r.running}`);
 *     }
 *   },
 * });
 * setExitPolicy({});
 * ```
 */
export interface ExitReport {
  /**
   * What started the exit cleanup: a signal, the event loop running dry
   * (`"natural"`), a crash, or `process.exit()` / `Deno.exit()`.
   */
  readonly cause: ExitCause;
  /** The signal, when `cause` is `"signal"`; otherwise `null`. */
  readonly signal: ExitSignal | null;
  /** The uncaught exception or rejection reason, for a crash. */
  readonly crash: unknown;
  /**
   * Why the cleanup was cut short, or `null` if every cleanup ran:
   * `"deadline"` (the timeout passed), `"signal"` (a second signal during
   * a signal's cleanup), `"stalled"` (the event loop ran dry while a
   * cleanup still waited on something that can never settle), `"exit"`
   * (`process.exit()` was called meanwhile). After `"stalled"` and
   * `"exit"` the entries not started yet still ran, synchronously.
   */
  readonly cut: "deadline" | "signal" | "stalled" | "exit" | null;
  /** The second signal, when `cut` is `"signal"`. */
  readonly cutBy: ExitSignal | null;
  /**
   * What each stack's disposal threw (one error or `SuppressedError` chain
   * per stack, newest stack first), deadlines not included. A group the
   * program was disposing has its own. One error can be in two of them:
   * a cleanup that awaited another stack's or a group's disposal fails
   * with what that one failed with. `report: true` lists it once.
   */
  readonly errors: readonly unknown[];
  /** Cleanups still running when the cleanup was cut short. */
  readonly running: readonly string[];
  /** Cleanups that never started because the cleanup was cut short. */
  readonly notStarted: readonly string[];
  /**
   * Async cleanups started under `process.exit()` / `Deno.exit()`, which
   * leave no time to await them, or after a stall (see `cut`), when the
   * rest runs synchronously too.
   */
  readonly notAwaited: readonly string[];
  /**
   * How many exit-bound stacks were disposed, or waited for: those open
   * or being disposed when the exit cleanup began, and those bound or
   * disposed during it. A group the program was disposing counts as its
   * stack.
   */
  readonly stacks: number;
  /** Milliseconds from the start of the exit cleanup to this report. */
  readonly elapsed: number;
}

/**
 * Receives the {@linkcode ExitReport}; see {@linkcode ExitPolicy.report}.
 *
 * @example
 * ```ts
 * import { type ExitReportHandler, setExitPolicy } from "@cleanup/defer";
 *
 * const log: ExitReportHandler = (r) => console.error(JSON.stringify(r));
 * setExitPolicy({ report: log });
 * setExitPolicy({});
 * ```
 */
export type ExitReportHandler = (report: ExitReport) => void;

interface Policy {
  signals: readonly ExitSignal[];
  timeout: number;
  report: boolean | ExitReportHandler;
  exitCode: number | undefined;
}

const DEFAULTS: Policy = {
  signals: ["SIGINT", "SIGTERM"],
  timeout: 10_000,
  report: true,
  exitCode: undefined,
};

const KEYS = ["signals", "timeout", "report", "exitCode"];
const MAX_TIMER = 2 ** 31 - 1;

let current: Policy = DEFAULTS;

/**
 * Sets how exit-bound stacks (`defer({ exit: true })`) end the process:
 * which signals, the deadline, the report, the status after a signal. The
 * whole policy is replaced: a field left out takes its default, so
 * `setExitPolicy({})` restores every default. Applies at once, also to the
 * listeners of stacks already open.
 *
 * @param policy See {@linkcode ExitPolicy}.
 * @throws {TypeError} If `policy` or a field has the wrong type, or names
 * an unknown field.
 * @throws {RangeError} If a signal is not one of {@linkcode ExitSignal}, the
 * timeout is negative or NaN, or `exitCode` is not an integer 0–255.
 *
 * @example SIGHUP too, a 2-second deadline, reports as JSON
 * ```ts
 * import { setExitPolicy } from "@cleanup/defer";
 *
 * setExitPolicy({
 *   signals: ["SIGINT", "SIGTERM", "SIGHUP"],
 *   timeout: 2_000,
 *   report: (r) => console.error(JSON.stringify(r)),
 * });
 * setExitPolicy({}); // the defaults again
 * ```
 */
export function setExitPolicy(policy: ExitPolicy): void {
  const next = policyOf(policy);
  const changedSignals = next.signals.join() !== current.signals.join();
  current = next;
  if (changedSignals && installed !== null && !installed.yielded) {
    removeSignals(installed);
    addSignals(installed);
  }
}

function policyOf(value: unknown): Policy {
  const fn = "setExitPolicy()";
  if (value === null || typeof value !== "object" || Array.isArray(value)) {
    throw new TypeError(
      `${fn}: policy must be an object, got ${describe(value)}`,
    );
  }
  checkFields(value, KEYS, fn);
  const given = value as ExitPolicy;
  const out: Policy = { ...DEFAULTS };
  if (given.signals !== undefined) {
    if (!Array.isArray(given.signals)) {
      throw new TypeError(
        `${fn}: signals must be an array of signal names, got ${
          describe(given.signals)
        }`,
      );
    }
    const signals: ExitSignal[] = [];
    for (const s of given.signals as unknown[]) {
      if (typeof s !== "string" || !SIGNALS.includes(s)) {
        throw new RangeError(
          `${fn}: ${describe(s)} is not a signal it can handle; use ${
            SIGNALS.join(", ")
          }`,
        );
      }
      if (!signals.includes(s as ExitSignal)) signals.push(s as ExitSignal);
    }
    out.signals = signals;
  }
  if (given.timeout !== undefined) {
    const t: unknown = given.timeout;
    if (t === false) {
      out.timeout = Infinity;
    } else if (typeof t !== "number") {
      throw new TypeError(
        `${fn}: timeout must be a number of milliseconds or false, got ${
          describe(t)
        }`,
      );
    } else if (!(t >= 0)) {
      throw new RangeError(
        `${fn}: timeout must be 0 or more milliseconds (false or Infinity for none), got ${t}`,
      );
    } else {
      out.timeout = t > MAX_TIMER ? Infinity : t;
    }
  }
  if (given.report !== undefined) {
    const r: unknown = given.report;
    if (typeof r !== "boolean" && typeof r !== "function") {
      throw new TypeError(
        `${fn}: report must be a boolean or a function, got ${describe(r)}`,
      );
    }
    out.report = r as boolean | ExitReportHandler;
  }
  if (given.exitCode !== undefined) {
    const c: unknown = given.exitCode;
    if (typeof c !== "number") {
      throw new TypeError(
        `${fn}: exitCode must be an integer 0–255, got ${describe(c)}`,
      );
    }
    if (!Number.isInteger(c) || c < 0 || c > 255) {
      throw new RangeError(
        `${fn}: exitCode must be an integer 0–255, got ${c}`,
      );
    }
    out.exitCode = c;
  }
  return out;
}

// ---------------------------------------------------------------------------
// The registry

/**
 * Open exit-bound stacks, each with its binding's sequence number (a
 * moved stack takes the old one's): binding, unbinding and moving cost
 * O(1); the order, newest first, is sorted out only when the process ends.
 */
const bound = new Map<DeferStack, number>();
let sequence = 0;
/**
 * While the process ends: the stacks still to dispose, oldest first (taken
 * from the end); stacks bound meanwhile are sorted in once it runs out.
 */
let queue: DeferStack[] | null = null;

interface Installed {
  adapter: ProcessAdapter;
  /** Our listener for each signal actually listened to. */
  signals: Map<string, () => void>;
  /** The signals were given back: see `yieldSignals()`. */
  yielded: boolean;
  unlisten: () => void;
}

let installed: Installed | null = null;

/** Binds `stack` to the process; called by the `DeferStack` constructor. */
export function bindExit(stack: DeferStack): void {
  const adapter = processAdapter();
  if (adapter === null) {
    throw new TypeError(
      "defer({ exit: true }): there is no process to bind the stack to here (no Deno or process global, as in a browser or its workers); exit-bound stacks need Deno, Node or Bun",
    );
  }
  if (adapter.workerThread()) {
    throw new TypeError(
      "defer({ exit: true }): this is a worker thread, whose exit is not the process's and which does not own the process's signals (Node and Bun give it none; Deno gives them to the main thread too); bind the stack in the main thread, or dispose it from the worker's own shutdown code",
    );
  }
  bound.set(stack, sequence++);
  if (installed === null) install(adapter);
  else if (installed.yielded) addSignals(installed);
}

/** A stack's storage, from the one module that can read it. */
let storageOf: (stack: DeferStack) => Slots | null = () => null;

/** Called once by defer_stack.ts, which alone can read a stack's storage. */
export function readStorageWith(
  read: (stack: DeferStack) => Slots | null,
): void {
  storageOf = read;
}

/**
 * The place in the exit order of the open exit-bound stack whose entries
 * `slots` are, or -1: looked up only when an entry is run early through
 * its handle, and kept (a stack's storage keeps its place when the stack
 * is moved). A field on every storage cost the smallest stacks 2–3%.
 */
function placeOf(slots: Slots): number {
  const known = places.get(slots);
  if (known !== undefined) return known;
  for (const [stack, n] of bound) {
    if (storageOf(stack) === slots) {
      places.set(slots, n);
      return n;
    }
  }
  // A stack being disposed is no longer open: its disposal has its place.
  for (const disposal of disposing) {
    if (!disposal.gone && disposal.storage === slots) {
      return Math.floor(disposal.sequence);
    }
  }
  return -1;
}

const places = new WeakMap<Slots, number>();

/**
 * A handle's entry run early with `await using h` or
 * `h[Symbol.asyncDispose]()` on an exit-bound stack: run as the one entry
 * of a watched storage, just before its stack in the exit order, so that
 * a signal's cleanup waits for it before running the stack's older
 * entries, and an exit or a deadline names it. Settles as the plain run
 * does: with what the cleanup rejected with, or threw.
 */
function runEarlyAsync(slots: Slots, top: number): Promise<void> {
  const place = installed === null ? -1 : placeOf(slots);
  if (place < 0) {
    return runEarlyPlain(slots, top);
  }
  const run = (): unknown => slots.runEarly(top);
  // Named as the entry is, in the report; a name that cannot be read
  // must not keep the entry from running.
  let name = "anonymous";
  try {
    name = slots.entryName(top);
  } catch {
    // anonymous it is
  }
  Object.defineProperty(run, "name", { value: name });
  const one = new Slots();
  one.addDefer(run);
  watchDisposal(one, place + 0.25, true);
  return one.unwindAsyncWatched();
}

async function runEarlyPlain(slots: Slots, top: number): Promise<void> {
  await slots.runEarly(top);
}

/**
 * An exit-bound stack's own disposal (the program's: the end of its
 * `using` block, `dispose()`, `disposeAsync()`), under way. The stack is
 * no longer open, but until its loop ends the process does not end
 * without it: an exit cleanup waits for it, under the same deadline, and
 * an explicit exit runs the rest of its entries.
 */
class Disposal implements Watcher {
  error: unknown = undefined;
  failed = false;
  /** Its binding's sequence number: newest first, as open stacks go. */
  sequence = 0;
  storage: Slots;
  /** Whether the loop awaits (`disposeAsync()`), or is `dispose()`'s. */
  async = false;
  /** Set while an exit cleanup waits for it. */
  wake: (() => void) | null = null;
  /** See {@linkcode Watcher.awaitingAt}: no entry awaited yet. */
  awaitingAt = -1;
  /** Its errors are in the exit report already. */
  reported = false;
  /**
   * Once an explicit exit takes it over: the group it was awaiting, which
   * that exit stopped (`null` for none). Its names are in the report then;
   * an exit made again by one of the entries run for it goes on from here.
   */
  stopped: Stopped | null | undefined = undefined;
  /** Its loop ended, or an exit took it over: out of `disposing`. */
  gone = false;
  /** Its place in the order disposals began (see `serials`). */
  serial = ++serials;
  /**
   * The disposal whose entry's call it began in (see `watchedCalls`): a
   * disposal that one's cleanup started; `null` for one the program
   * started.
   */
  parent: Watcher | null = watchedCalls.caller;

  constructor(storage: Slots) {
    this.storage = storage;
  }

  /** Chains `failure` over what the disposal failed with so far. */
  fail(failure: unknown): void {
    this.error = this.failed ? suppress(failure, this.error) : failure;
    this.failed = true;
  }

  done(slots: Slots): void {
    slots.watcher = null;
    disposalEnds(this);
  }
}

/**
 * Disposals under way (see `Disposal`), in the order they began. One that
 * ends stays until it is the last one, marked `gone` (taking it out at
 * once cost quadratic time when thousands ended in the order they began);
 * `live` counts the others, and the last one is never gone.
 */
const disposing: Disposal[] = [];
let live = 0;
/** Disposals made so far: see `Disposal.serial`. */
let serials = 0;

/**
 * `stack`'s own disposal of `storage` begins: it leaves the open stacks,
 * and is watched until its loop ends.
 */
export function disposalStarts(
  stack: DeferStack,
  storage: Slots,
  async: boolean,
): void {
  const sequence = bound.get(stack);
  if (sequence === undefined) return;
  bound.delete(stack);
  if (bound.size === 0 && ending === null && installed !== null) {
    yieldSignals(installed);
  }
  watchDisposal(storage, sequence, async);
}

/**
 * `stack`'s place in the exit order if it is exit-bound, else -1: its
 * groups are disposed in that place (see {@linkcode groupDisposalStarts}).
 */
export function exitSequence(stack: DeferStack): number {
  return bound.get(stack) ?? -1;
}

/**
 * A group of the exit-bound stack whose place is `sequence` begins its
 * disposal, whoever started it: a loop over `storage`, its members
 * (`dispose()`), or the storage it is the one entry of (a `disposeAsync()`
 * the program started). Watched as a stack's own disposal is, so that
 * an exit does not skip the members it has not started; just after its
 * stack in the exit order, since it was started after the stack's own
 * entries were opened.
 */
export function groupDisposalStarts(
  storage: Slots,
  sequence: number,
  async: boolean,
): void {
  if (installed === null) return; // the exit is over: nothing watches
  watchDisposal(storage, sequence + 0.5, async);
}

/**
 * A stack that is not exit-bound begins its disposal from inside the call
 * of an entry of a watched one (see `watchedCalls`): a stack the
 * exit-bound one uses, say. It is part of that disposal and is watched in
 * its place, so that an exit runs the entries it has not started, before
 * the rest of the disposal that called it, and names the one it awaited.
 */
export function nestedDisposalStarts(
  storage: Slots,
  async: boolean,
): boolean {
  // The disposal whose entry is being called, known since the loops say
  // it (see `enterCall()`); else the newest one under way.
  const caller = watchedCalls.caller as Disposal | null;
  const outer = caller !== null && !caller.gone
    ? caller
    : disposing[disposing.length - 1];
  if (installed === null || outer === undefined) return false;
  watchDisposal(storage, outer.sequence, async);
  return true;
}
watchedCalls.watch = nestedDisposalStarts;

function watchDisposal(
  storage: Slots,
  sequence: number,
  async: boolean,
): Disposal {
  const disposal = new Disposal(storage);
  disposal.sequence = sequence;
  disposal.async = async;
  storage.watcher = disposal;
  disposing.push(disposal);
  live++;
  return disposal;
}

/** Takes `disposal` out of `disposing`; false if it was not there. */
function forget(disposal: Disposal): boolean {
  if (disposal.gone) return false;
  disposal.gone = true;
  live--;
  while (disposing.length > 0 && disposing[disposing.length - 1].gone) {
    disposing.pop();
  }
  // Kept compact: at most half of it gone, past a few.
  const gone = disposing.length - live;
  if (gone > 16 && gone * 2 > disposing.length) {
    let n = 0;
    for (const d of disposing) if (!d.gone) disposing[n++] = d;
    disposing.length = n;
  }
  return true;
}

function disposalEnds(disposal: Disposal): void {
  if (!forget(disposal)) return;
  if (disposal.wake !== null) disposal.wake();
  if (bound.size === 0 && live === 0 && ending === null) {
    uninstall();
  }
}

/**
 * Disposals under way, newest stack first; in one place, the one started
 * last first (a stack disposed by the cleanup of another is in its place:
 * see {@linkcode nestedDisposalStarts}).
 */
function disposalsNewestFirst(): Disposal[] {
  return disposing.filter((d) => !d.gone).reverse().sort((a, b) =>
    b.sequence - a.sequence
  );
}

/** `from.move()` returned `to`: it takes `from`'s place in the order. */
export function moveExit(from: DeferStack, to: DeferStack): void {
  const n = bound.get(from);
  if (n === undefined) return;
  bound.delete(from);
  bound.set(to, n);
  if (queue !== null) {
    const i = queue.lastIndexOf(from);
    if (i >= 0) queue[i] = to;
  }
}

/** The newest exit-bound stack still open, or `undefined`: while ending. */
function newestOpen(): DeferStack | undefined {
  for (;;) {
    if (queue !== null) {
      while (queue.length > 0) {
        const stack = queue[queue.length - 1];
        if (bound.has(stack)) return stack;
        queue.pop();
      }
    }
    if (bound.size === 0) return undefined;
    queue = [...bound].sort((a, b) => a[1] - b[1]).map((entry) => entry[0]);
  }
}

/** {@linkcode newestOpen}, taken out of the order. */
function takeNewest(): DeferStack | undefined {
  const stack = newestOpen();
  if (stack !== undefined) queue!.pop();
  return stack;
}

function install(adapter: ProcessAdapter): void {
  const inst: Installed = {
    adapter,
    signals: new Map(),
    yielded: false,
    unlisten: adapter.listen({ naturalEnd, crash, exit: onExit }),
  };
  addSignals(inst);
  installed = inst;
  watchedCalls.runEarlyAsync = runEarlyAsync;
}

function addSignals(inst: Installed): void {
  inst.yielded = false;
  for (const signal of current.signals) {
    const listener = (): void => onSignal(signal);
    if (inst.adapter.onSignal(signal, listener)) {
      inst.signals.set(signal, listener);
    }
  }
}

/**
 * The last open stack's disposal began: the signals are the process's
 * again, as if no stack had been bound, while the disposals under way are
 * still waited for at a crash, the natural end or `exit()`. Who owns a
 * signal then cannot be told: the handler that started the disposal may
 * be the application's (`process.once` is gone by the time ours runs, and
 * Deno cannot count its listeners), and a listener that ends the process
 * only when it is the last one (signal-exit) must not see ours.
 */
function yieldSignals(inst: Installed): void {
  removeSignals(inst);
  inst.yielded = true;
}

function removeSignals(inst: Installed): void {
  for (const [signal, listener] of inst.signals) {
    inst.adapter.offSignal(signal, listener);
  }
  inst.signals.clear();
}

function uninstall(): void {
  const inst = installed;
  if (inst === null) return;
  installed = null;
  watchedCalls.runEarlyAsync = null;
  removeSignals(inst);
  inst.unlisten();
}

// ---------------------------------------------------------------------------
// Ending

interface Ending {
  adapter: ProcessAdapter;
  cause: ExitCause;
  signal: ExitSignal | null;
  crash: unknown;
  /**
   * A signal that arrived during a natural-end or crash cleanup: the
   * cleanup goes on, then the process ends as killed by it.
   */
  lateSignal: ExitSignal | null;
  controller: AbortControllerLike;
  timer: unknown;
  started: number;
  cut: ExitReport["cut"];
  cutBy: ExitSignal | null;
  errors: unknown[];
  running: string[];
  notStarted: string[];
  notAwaited: string[];
  /**
   * The places in the exit order (see `bound`) of the stacks disposed or
   * waited for: the report's `stacks` counts them, a stack and the groups
   * of it waited for apart once.
   */
  stacks: Set<number>;
  /**
   * The disposals whose rest is being run synchronously, innermost last:
   * should one of their entries exit again, their drains end from inside
   * that call, and what they failed with is reported there.
   */
  taking: Disposal[];
  /**
   * The disposal of the stack this exit cleanup disposes now, once it
   * began (watched as the program's are): the disposals started after it
   * are those its cleanups started, and have their rest run before its.
   */
  own: Disposal | undefined;
  /** Set once reported: the process is ending our way now. */
  finished: boolean;
  /** Whether it waited for a disposal the program started. */
  waited: boolean;
  /** Whether the event loop was seen dry once already (see `naturalEnd`). */
  dryOnce: boolean;
}

let ending: Ending | null = null;

function begin(
  cause: ExitCause,
  signal: ExitSignal | null,
  crash: unknown,
): Ending {
  const adapter = (installed as Installed).adapter;
  const e: Ending = {
    adapter,
    cause,
    signal,
    crash,
    lateSignal: null,
    controller: abortController(),
    timer: undefined,
    started: Date.now(),
    cut: null,
    cutBy: null,
    errors: [],
    running: [],
    notStarted: [],
    notAwaited: [],
    stacks: new Set(),
    taking: [],
    own: undefined,
    finished: false,
    waited: false,
    dryOnce: false,
  };
  // Every stack open or being disposed now is the exit's to dispose or
  // wait for, whichever disposal ends first (a program's may end on its
  // own while the exit waits for a newer one).
  for (const n of bound.values()) e.stacks.add(n);
  for (const d of disposing) {
    if (!d.gone) e.stacks.add(Math.floor(d.sequence));
  }
  // An explicit exit ends the process when its listeners return, whoever
  // else is ending it: only the others are counted.
  if (cause !== "exit") copies().ending++;
  ending = e;
  return e;
}

/**
 * What every copy of this package loaded in the process shares (two
 * versions installed side by side each have their own stacks and
 * listeners): how many of them are ending the process now. Only the last
 * to finish its cleanup ends it: one ending it sooner would cut the
 * others' short (to them, its re-raised signal is a second one). Found
 * under a registered symbol; its shape must stay the same in every
 * version.
 */
interface Copies {
  ending: number;
  /**
   * How each copy that finished would end the process. The last one ends
   * it the strongest way: a status the policy sets, then the signal, the
   * crash, a natural end cut short; the first of equals.
   */
  ends: End[];
}

interface End {
  rank: number;
  end: () => void;
}

let shared: Copies | null = null;

function copies(): Copies {
  shared ??= sharedByCopies<Copies>(
    "@cleanup/defer/exit",
    (found) =>
      typeof found === "object" && found !== null &&
      typeof (found as Copies).ending === "number" &&
      Array.isArray((found as Copies).ends),
    () => ({ ending: 0, ends: [] }),
  );
  return shared;
}

function onSignal(signal: ExitSignal): void {
  const e = ending;
  if (e !== null) {
    if (e.finished) return;
    if (e.cause !== "signal" && e.lateSignal === null) {
      // The first signal during a natural-end or crash cleanup: let the
      // cleanup finish, then end as killed by it.
      e.lateSignal = signal;
      return;
    }
    // A second signal: stop waiting, end now, as this signal would.
    cut(e, "signal", signal);
    return;
  }
  // No stack open: the runtime still calls a listener removed earlier in
  // this very dispatch (see `yieldSignals()`). A stack bound again in that
  // same dispatch, before ours runs, is not told apart.
  if (bound.size === 0) return;
  run(begin("signal", signal, undefined));
}

function naturalEnd(): boolean {
  const e = ending;
  if (e !== null) {
    // The loop ran dry while a cleanup still waits: nothing can ever
    // settle it. (At the natural end the deadline's timer keeps the loop
    // going, so this is a signal's or a crash's cleanup, or no deadline.)
    // What has not started yet runs now, synchronously.
    if (!e.finished) {
      if (!e.dryOnce) {
        // Not yet, the first time: Bun reports the loop dry right after
        // an unhandledRejection listener returns, before the microtasks
        // it queued (our cleanup's, which may start a timer) run. One more
        // turn of the loop tells; dry again then, it is.
        e.dryOnce = true;
        setTimer(() => {}, 0);
        return true;
      }
      cut(e, "stalled", null);
      runRestSync(e);
    }
    return true;
  }
  if (bound.size === 0 && live === 0) return false;
  run(begin("natural", null, undefined));
  return true;
}

function crash(
  kind: CrashKind,
  error: unknown,
  handledByApp: boolean,
): boolean {
  const e = ending;
  if (e !== null) {
    // The crash that began this ending, delivered again (under Node's
    // --unhandled-rejections=strict a rejection comes as an uncaught
    // exception, then as a rejection too): already reported.
    if (e.crash === error && e.cause !== "natural") return true;
    if (e.finished) return true;
    if (e.cause === "natural" && e.crash === undefined) {
      // A crash during the natural end's cleanup (Bun runs beforeExit
      // before a rejection of the last task): a listener of the
      // application's owns it, as before the end; else, without us the
      // runtime would report it and fail, so it is a crash, reported as
      // one.
      if (handledByApp) return false;
      e.cause = kind;
      e.crash = error;
      return true;
    }
    // Thrown while cleaning up (say, by a cleanup we stopped waiting for):
    // reported with the cleanup errors, the ending goes on.
    addError(e, error);
    return true;
  }
  // The application's own listener owns the crash: it decides whether
  // the process lives on, as it would without us.
  if (handledByApp || (bound.size === 0 && live === 0)) {
    return false;
  }
  run(begin(kind, null, error));
  return true;
}

function cut(
  e: Ending,
  why: "deadline" | "signal" | "stalled" | "exit",
  signal: ExitSignal | null,
): void {
  if (e.cut === null) e.cut = why;
  if (why === "signal") e.cutBy = signal;
  e.controller.abort(new Error(`exit cleanup cut short: ${why}`));
}

async function run(e: Ending): Promise<void> {
  if (current.timeout !== Infinity) {
    e.timer = setTimer(() => cut(e, "deadline", null), current.timeout);
    // At the natural end the deadline's timer keeps the event loop alive
    // while the cleanup runs (and only then): the loop can no longer run
    // dry under it, so an exit meanwhile is always an explicit one, and a
    // cleanup waiting for nothing meets the deadline. After a signal or a
    // crash the process is ending anyway: the timer must not hold it.
    if (e.cause !== "natural") e.adapter.unref(e.timer);
  }
  try {
    for (;;) {
      // Newest first, whether open or already being disposed by the
      // program: what was opened later may depend on what was before.
      const open = newestOpen();
      const disposal = disposalsNewestFirst()[0];
      if (
        disposal !== undefined &&
        (open === undefined || disposal.sequence > bound.get(open)!)
      ) {
        await waitForDisposal(e, disposal);
        continue;
      }
      const stack = takeNewest();
      if (stack === undefined) break;
      e.stacks.add(bound.get(stack)!);
      try {
        // Once the signal aborted, each remaining stack rejects at once,
        // naming its entries as never started. Its disposal is watched
        // from its first step (see `disposalStarts()`).
        const before = serials;
        const disposed = stack.disposeAsync({ signal: e.controller.signal });
        e.own = disposing.find((d) => d.serial === before + 1 && !d.gone);
        await disposed;
      } catch (error) {
        collect(e, error);
      }
    }
  } finally {
    // Whatever happened above, the ending ends: one left open holds the
    // process (Deno asks again at every turn of a dry event loop).
    if (!e.finished) finish(e);
  }
}

/**
 * Waits for `disposal`, one the program started (see `Disposal`), to end.
 * Once the exit cleanup is cut short, names instead the entry each one
 * left is awaiting as still running (a group's members, if it awaits a
 * group, which then starts no more), and those it has not started as
 * never started. What a disposal threw is reported too, since the process
 * may end before the code awaiting it can say so.
 */
async function waitForDisposal(e: Ending, disposal: Disposal): Promise<void> {
  const signal = e.controller.signal;
  if (!signal.aborted) {
    e.stacks.add(Math.floor(disposal.sequence));
    e.waited = true;
    let wake: () => void = () => {};
    const ended = new Promise<void>((resolve) => (wake = resolve));
    disposal.wake = wake;
    signal.addEventListener("abort", wake);
    try {
      await ended;
    } finally {
      signal.removeEventListener("abort", wake);
      disposal.wake = null;
    }
    if (disposal.gone) {
      if (disposal.failed && !disposal.reported) addError(e, disposal.error);
      return;
    }
  }
  // Cut short.
  for (const disposal of disposalsNewestFirst()) {
    forget(disposal);
    e.stacks.add(Math.floor(disposal.sequence));
    disposal.reported = true;
    const { running, group } = awaited(disposal);
    appendAll(e.running, running);
    if (group !== null) appendAll(e.notStarted, group.notStarted);
    appendAll(e.notStarted, disposal.storage.pendingNames());
    if (disposal.failed) addError(e, disposal.error);
    const failure = group?.failure() ?? null;
    if (failure !== null) addError(e, failure.error);
  }
}

/**
 * What an async disposal the program started is awaiting, as the exit
 * stops waiting for it: the entry's name, or the members still running of
 * the group it awaits, which is stopped (no member starts any more).
 */
function awaited(
  disposal: Disposal,
): { running: string[]; group: Stopped | null } {
  if (!disposal.async) return { running: [], group: null };
  const storage = disposal.storage;
  const name = storage.awaitedName();
  if (name === null) return { running: [], group: null };
  // A Symbol.dispose fallback has finished: only the spec's await is left.
  if (storage.took === Took.FALLBACK) return { running: [], group: null };
  // An entry, or a group's member, still inside its call is the one that
  // exited (nothing else can end the process from inside a call): it is
  // neither awaited nor left running.
  const group = stopGroup(storage.takenValue());
  if (group !== null) {
    return { running: runningAtExit(group), group };
  }
  if (storage.calling()) return { running: [], group: null };
  return { running: [name], group: null };
}

/** Sorts what a stack's `disposeAsync({ signal })` rejected with. */
function collect(e: Ending, error: unknown): void {
  let stop: unknown = error;
  let earlier: unknown;
  let hasEarlier = false;
  const link = linkOf(error);
  if (link !== null && isOwnStop(e, link.error)) {
    stop = link.error;
    earlier = link.suppressed;
    hasEarlier = true;
  }
  if (isOwnStop(e, stop)) {
    appendAll(e.running, stop.running);
    appendAll(e.notStarted, stop.notStarted);
    if (hasEarlier) addError(e, earlier);
  } else {
    addError(e, error);
  }
}

/**
 * Whether `value` is where this ending's abort stopped a stack's disposal,
 * and not a `DisposeTimeoutError` a cleanup threw (an inner stack's,
 * passed on): its cause is the abort's own reason.
 */
function isOwnStop(e: Ending, value: unknown): value is DisposeTimeoutError {
  const signal = e.controller.signal;
  return isDisposeTimeoutError(value) && signal.aborted &&
    value.cause === signal.reason;
}

/**
 * The two errors of a `SuppressedError` chain link, or `null` for
 * anything else. Cleanups throw what they like, a proxy whose traps throw
 * included, and the report must still be made: a value that throws when
 * looked at is a leaf.
 */
function linkOf(
  value: unknown,
): { error: unknown; suppressed: unknown } | null {
  try {
    if (
      value instanceof Error && value.name === "SuppressedError" &&
      "error" in value && "suppressed" in value
    ) {
      return { error: value.error, suppressed: value.suppressed };
    }
  } catch {
    // A leaf, then.
  }
  return null;
}

/** Adds a disposal's error chain to the report, naming its not-awaited entries. */
function addError(e: Ending, error: unknown): void {
  e.errors.push(error);
  for (const leaf of leaves(error).list) {
    const name = leaf !== null && typeof leaf === "object"
      ? notAwaited.get(leaf)
      : undefined;
    if (name !== undefined) e.notAwaited.push(name);
  }
}

/**
 * `process.exit()` / `Deno.exit()`: only synchronous work can still run.
 * Called during an exit cleanup, it stops the waiting, but every entry not
 * started yet still runs: the rest of the stack being disposed, from where
 * its loop is, then every stack not reached, newest first.
 */
function onExit(): void {
  let e = ending;
  if (e !== null && e.finished) return;
  // Without a deadline nothing keeps the loop alive at the natural end:
  // Node and Bun come here, with no second beforeExit, when the cleanup
  // awaits only promises nothing can settle. An explicit exit looks the
  // same then.
  const stalled = e !== null && e.cause === "natural" &&
    e.timer === undefined;
  if (e !== null) {
    if (e.timer !== undefined) clearTimer(e.timer);
    cut(e, stalled ? "stalled" : "exit", null);
  } else {
    e = begin("exit", null, undefined);
  }
  // A cleanup here that exits again would end the process at once: its
  // exit runs the rest and reports from inside its call instead.
  const ended = e;
  e.adapter.holdExit(
    () => runRestSync(ended),
    () => runRestSync(ended),
    () => endExit(ended, stalled),
  );
  endExit(e, stalled);
}

/** Reports the exit's cleanup, once every entry ran: the process ends. */
function endExit(e: Ending, stalled: boolean): void {
  if (e.finished) return;
  const crashed = e.cause === "uncaughtException" ||
    e.cause === "unhandledRejection";
  // Throws only where the call stack is full, deep in exits made again
  // from inside cleanups: a held exit further up then reports instead.
  deliver(e);
  e.finished = true;
  // The runtime's report of the crash was held back for the cleanup: it
  // is owed whatever `report` says, and the status must say it failed.
  if (crashed) e.adapter.reportCrash(e.cause as CrashKind, e.crash);
  uninstall();
  queue = null;
  if (stalled || crashed) raiseStatus(e.adapter, 1);
}

/**
 * Runs, synchronously, every entry not started yet: the rest of the stack
 * whose disposal was cut short (from where its loop is), then every stack
 * not reached, newest first. Async ones are started and named as not
 * awaited.
 */
function runRestSync(e: Ending): void {
  // Drains an exit made again by one of their entries cut short; what the
  // disposals they ran failed with is reported here if they ended.
  finishDrains();
  for (const disposal of e.taking.splice(0).reverse()) {
    if (disposal.gone && disposal.failed) {
      addError(e, disposal.error);
    }
  }
  // The disposals the cleanups of the stack this exit cleanup was
  // disposing started (a stack it uses), innermost first: their rest
  // comes before that stack's, which is run just below.
  const own = e.own;
  if (own !== undefined && !own.gone) {
    const after = disposing.slice(disposing.indexOf(own) + 1);
    for (const disposal of after.reverse()) {
      // Not one the program started meanwhile on another stack, nor one
      // that one's cleanups started: those come in their own place, below.
      if (!disposal.gone && within(disposal, own)) {
        runDisposalSync(e, disposal);
      }
    }
  }
  const started: Disposal[] = [];
  const starts = (
    storage: Slots,
    running: readonly string[],
    group: Stopped | null,
  ): void => {
    appendAll(e.running, running);
    const disposal = disposing.find((d) => !d.gone && d.storage === storage);
    if (disposal === undefined) return;
    disposal.stopped = group;
    e.taking.push(disposal);
    started.push(disposal);
  };
  for (const rest of finishSyncUnder(e.controller.signal, starts)) {
    if (rest.failed) addError(e, rest.error);
  }
  for (const disposal of started) untake(e, disposal);
  // The program's own disposals, the one started last (the innermost,
  // when one runs inside another's cleanup) first: the rest of each, from
  // where its loop is. What an async one awaits is cut short, or, at an
  // exit that came outside any exit cleanup, started and not awaited; a
  // group it awaits has the members it had not started run first. Then
  // every stack not reached, newest first; a disposal one of their
  // cleanups starts (`g.disposeAsync()`) is run too, before the next.
  for (;;) {
    while (live > 0) {
      runDisposalSync(e, disposing[disposing.length - 1]);
    }
    const stack = takeNewest();
    if (stack === undefined) break;
    e.stacks.add(bound.get(stack)!);
    try {
      stack.dispose();
    } catch (error) {
      addError(e, error);
    }
  }
}

/**
 * Runs the rest of `disposal` for {@linkcode runRestSync} and forgets it.
 * Everything it does is kept on the disposal, not in this frame: an entry
 * run here that exits again runs `runRestSync()` again from inside its
 * call, which never returns (see `holdExit()`), and that goes on here.
 */
function runDisposalSync(e: Ending, disposal: Disposal): void {
  e.taking.push(disposal);
  e.stacks.add(Math.floor(disposal.sequence));
  disposal.reported = true;
  if (disposal.stopped === undefined) {
    const { running, group } = awaited(disposal);
    appendAll(e.cut !== null ? e.running : e.notAwaited, running);
    disposal.stopped = group;
    const failure = group?.failure() ?? null;
    if (failure !== null) disposal.fail(failure.error);
  }
  const group = disposal.stopped;
  const fail = (failure: unknown): void => disposal.fail(failure);
  for (const rest of group?.rest ?? []) drainSync(rest, fail, group?.kept);
  drainSync(disposal.storage, fail, group?.kept);
  forget(disposal); // if its drain's end has not already
  untake(e, disposal);
  if (disposal.failed) addError(e, disposal.error);
}

/** Whether `disposal` began inside `outer`'s, at any depth. */
function within(disposal: Disposal, outer: Disposal): boolean {
  for (
    let p = disposal.parent;
    p !== null;
    p = (p as Disposal).parent ?? null
  ) {
    if (p === outer) return true;
  }
  return false;
}

/** `disposal` is reported: out of `e.taking`. */
function untake(e: Ending, disposal: Disposal): void {
  const i = e.taking.lastIndexOf(disposal);
  if (i >= 0) e.taking.splice(i, 1);
}

/** Sets the status to `code` unless something already made it non-zero. */
function raiseStatus(adapter: ProcessAdapter, code: number): void {
  const now = adapter.exitCode();
  if (now === undefined || now === 0) adapter.setExitCode(code);
}

function finish(e: Ending): void {
  e.finished = true;
  if (e.timer !== undefined) clearTimer(e.timer);
  deliver(e);
  uninstall();
  ending = null;
  queue = null;
  const adapter = e.adapter;
  // What the cleanups and the report printed must reach its reader before
  // the process ends: Node may still be writing it (see `afterOutput()`).
  const then = (end: () => void): () => void => () => adapter.afterOutput(end);
  const signal = e.cutBy ?? e.signal ?? e.lateSignal;
  const crashed = e.cause === "uncaughtException" ||
    e.cause === "unhandledRejection";
  // How this cleanup ends the process, if it does, and how strongly (see
  // `copies()`: another copy of this package may be ending it too).
  let end: End | null = null;
  if (signal !== null) {
    // A signal during a crash's cleanup ends the process as that signal
    // would; the crash is still reported.
    if (crashed) adapter.reportCrash(e.cause as CrashKind, e.crash);
    const code = current.exitCode;
    // Always re-raised, our listener gone: a listener that ends the
    // process only when it is the last one (signal-exit) must see it.
    // An application listener sees the signal a second time.
    end = code !== undefined
      ? { rank: 4, end: then(() => adapter.exit(code)) }
      : { rank: 3, end: then(() => adapter.raise(signal)) };
  } else if (crashed) {
    if (e.waited && adapter.kind === "deno") {
      // The program's own await of a disposal we waited for goes on now,
      // before Deno's rethrow from a timer; should that await reject
      // unhandled, Deno would end the process on it first and the crash
      // would go unreported. So it is reported here, and the process ends.
      adapter.reportCrash(e.cause as CrashKind, e.crash);
      raiseStatus(adapter, 1);
      end = { rank: 2, end: () => adapter.exit(adapter.exitCode() ?? 1) };
    } else {
      const kind = e.cause as CrashKind;
      end = { rank: 2, end: () => adapter.rethrow(kind, e.crash) };
    }
  } else {
    // The natural end: a status someone already set is kept.
    if (e.cut !== null || e.errors.length > 0) raiseStatus(adapter, 1);
    if (e.cut !== null) {
      end = { rank: 1, end: then(() => adapter.exit(adapter.exitCode() ?? 1)) };
    }
  }
  const all = copies();
  all.ending--;
  if (end !== null) all.ends.push(end);
  // Another copy's cleanup is still under way: it ends the process.
  if (all.ending > 0) return;
  let chosen: End | null = null;
  for (const candidate of all.ends.splice(0)) {
    if (chosen === null || candidate.rank > chosen.rank) chosen = candidate;
  }
  chosen?.end();
}

// ---------------------------------------------------------------------------
// The report

function deliver(e: Ending): void {
  const report: ExitReport = {
    cause: e.cause,
    signal: e.signal,
    crash: e.crash,
    cut: e.cut,
    cutBy: e.cutBy,
    errors: e.errors,
    running: e.running,
    notStarted: e.notStarted,
    notAwaited: e.notAwaited,
    stacks: e.stacks.size,
    elapsed: Date.now() - e.started,
  };
  const handler = current.report;
  if (typeof handler === "function") {
    try {
      handler(report);
    } catch (error) {
      e.adapter.writeError(
        `@cleanup/defer: the exit report handler threw: ${
          errorLine(error, "")
        }`,
      );
    }
  } else if (handler) {
    // The process must still end as it should, whatever the report meets.
    let text: string;
    try {
      text = format(report, e.adapter.kind);
    } catch (error) {
      text = `@cleanup/defer: the exit report could not be made: ${
        errorLine(error, "")
      }`;
    }
    if (text !== "") e.adapter.writeError(text);
  }
}

function when(r: ExitReport, kind: "deno" | "node"): string {
  switch (r.cause) {
    case "signal":
      return `after ${r.signal}`;
    case "natural":
      return "at the natural end";
    case "uncaughtException":
      return "after an uncaught exception";
    case "unhandledRejection":
      return "after an unhandled rejection";
    default:
      return `at ${kind === "deno" ? "Deno.exit()" : "process.exit()"}`;
  }
}

function names(list: readonly string[]): string {
  return list.length === 0 ? "none" : list.join(", ");
}

/** The text `report: true` prints; empty when there is nothing to say. */
function format(r: ExitReport, kind: "deno" | "node"): string {
  const lines: string[] = [];
  const at = when(r, kind);
  const exit = kind === "deno" ? "Deno.exit()" : "process.exit()";
  if (r.cut !== null) {
    const head = {
      deadline:
        `the exit cleanup ${at} passed its ${current.timeout} ms deadline`,
      signal: `${r.cutBy} during the exit cleanup ${at}: ending now`,
      stalled:
        `the exit cleanup ${at} stalled: the event loop ran dry while a cleanup was still waiting`,
      exit: `${exit} was called during the exit cleanup ${at}`,
    }[r.cut];
    lines.push(`@cleanup/defer: ${head}`);
    lines.push(`  still running: ${names(r.running)}`);
    // An explicit exit or a stall still runs every entry not started
    // (synchronously).
    if (r.cut === "deadline" || r.cut === "signal") {
      lines.push(
        `  ${
          r.cut === "deadline" ? "never started" : "skipped"
        } (${r.notStarted.length}): ${names(r.notStarted)}`,
      );
    }
  }
  if (r.notAwaited.length > 0) {
    // After a stall the rest ran synchronously too, but no exit() ended it.
    const why = r.cut === "stalled"
      ? "nothing can settle a stalled exit cleanup's awaits"
      : `${exit} leaves no time for async cleanups`;
    lines.push(
      `@cleanup/defer: ${why}; started, not awaited (${r.notAwaited.length}): ${
        names(r.notAwaited)
      }`,
    );
  }
  let cut = false;
  // Each error object once: a disposal that awaited another (a cleanup
  // awaiting `inner.disposeAsync()` or `g.disposeAsync()`) failed with
  // what that one failed with, and the exit may have waited for both.
  // A thrown primitive cannot be told from another equal to it.
  const listed = new Set<unknown>();
  const failures = r.errors.flatMap((error) => {
    const walked = leaves(error);
    if (walked.cut) cut = true;
    return walked.list;
  }).filter((leaf) => {
    if (leaf === null || typeof leaf !== "object") return true;
    if (notAwaited.has(leaf) || listed.has(leaf)) return false;
    listed.add(leaf);
    return true;
  });
  if (failures.length > 0) {
    lines.push(
      `@cleanup/defer: ${failures.length} cleanup error(s) ${at}, first to run first:`,
    );
    for (const failure of failures) lines.push(...errorLines(failure));
  }
  // Also when nothing of it could be listed: a chain that never ends.
  if (cut) {
    lines.push(
      `@cleanup/defer: a cleanup error ${at} is a chain of more than ${MAX_LEAVES} errors, or one that never ends; the rest of it is not listed`,
    );
  }
  return lines.join("\n");
}

/** The most errors (and links) of one chain the report walks. */
const MAX_LEAVES = 1_000;

/**
 * The errors of a `SuppressedError` chain, in the order they were thrown,
 * each link followed once, so that a chain a cleanup made by hand, which
 * may be deeper than the call stack, loop back on itself or share links,
 * is listed as thrown. At most `MAX_LEAVES` errors and twice as many links
 * are walked, since a getter making a new link each time never ends: `cut`
 * says the walk stopped there.
 */
function leaves(error: unknown): { list: unknown[]; cut: boolean } {
  const list: unknown[] = [];
  const seen = new Set<unknown>();
  // Depth first without recursion; a link's older side (`suppressed`)
  // before its newer one (`error`).
  const todo: unknown[] = [error];
  while (todo.length > 0) {
    // A chain of n errors has n - 1 links: twice as many means a chain
    // that never ends.
    if (list.length >= MAX_LEAVES || seen.size >= 2 * MAX_LEAVES) {
      return { list, cut: true };
    }
    const value = todo.pop();
    if (seen.has(value)) continue;
    const link = linkOf(value);
    if (link === null) list.push(value);
    else {
      seen.add(value);
      todo.push(link.error, link.suppressed);
    }
  }
  return { list, cut: false };
}

/**
 * The lines for a thrown value: the error, the cleanup it came from if
 * known (an arrow function's name says nothing), its first frame, then
 * the errors it was caused by. Never throws, whatever was thrown.
 */
function errorLines(error: unknown): string[] {
  let name: string | undefined;
  if (
    (typeof error === "object" && error !== null) || typeof error === "function"
  ) {
    name = failedName(error);
  }
  const where = name !== undefined && name !== "anonymous" ? `in ${name}` : "";
  const lines = [`  ${errorLine(error, where)}`];
  // The causes, as far as they go (a network error's real reason is
  // often there: `fetch failed`, caused by `ECONNREFUSED`).
  let cause = error;
  const seen = new Set<unknown>([error]);
  for (let depth = 0; depth < MAX_CAUSES; depth++) {
    try {
      if (!(cause instanceof Error) || !("cause" in cause)) break;
      cause = cause.cause;
    } catch {
      break;
    }
    // An error that is its own cause, or a loop of them: once.
    if (seen.has(cause)) break;
    seen.add(cause);
    lines.push(`    caused by: ${errorLine(cause, "")}`);
  }
  return lines;
}

/** How many causes of one error the report follows. */
const MAX_CAUSES = 5;

/** One line for a thrown value: never throws, whatever was thrown. */
function errorLine(error: unknown, where: string): string {
  try {
    if (error instanceof Error) {
      const frame = String(error.stack ?? "").split("\n").map((l) => l.trim())
        .find((l) => l.startsWith("at "));
      const about = [where, frame].filter((s) => s !== "" && s !== undefined);
      return `${error.name}: ${error.message}${
        about.length > 0 ? ` (${about.join(", ")})` : ""
      }`;
    }
    return `thrown: ${String(error)}${where !== "" ? ` (${where})` : ""}`;
  } catch {
    return `thrown: ${
      typeof error === "function" ? "a function" : "an object"
    } that throws when read${where !== "" ? ` (${where})` : ""}`;
  }
}
