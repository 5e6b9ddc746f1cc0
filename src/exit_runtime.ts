/**
 * The process as the exit machinery sees it, on Deno or on Node and Bun
 * (which share Node's `process` API). Internal: not exported from `mod.ts`.
 *
 * Every global is read through `globalThis` when first needed, never at
 * import time: the package is also compiled for npm without Deno or Node
 * typings, and must load in a browser (where `exit: true` then fails at
 * `defer()`, with a clear message).
 *
 * @module
 */

/** Signal numbers, for the status a shell shows (128 + n). */
const SIGNAL_NUMBERS: Readonly<Record<string, number>> = {
  SIGHUP: 1,
  SIGINT: 2,
  SIGQUIT: 3,
  SIGUSR2: 12,
  SIGTERM: 15,
  SIGBREAK: 21,
};

/** The signals `setExitPolicy()` accepts. */
export const SIGNALS: readonly string[] = Object.keys(SIGNAL_NUMBERS);

/** The status a shell reports for a process killed by `signal`. */
function signalStatus(signal: string): number {
  return 128 + (SIGNAL_NUMBERS[signal] ?? 0);
}

/** How a crash reached us. */
export type CrashKind = "uncaughtException" | "unhandledRejection";

/** What the runtime calls back into; each returns nothing the runtime needs. */
export interface ExitHooks {
  /**
   * The event loop ran dry (Node/Bun `beforeExit`, Deno `beforeunload`).
   * Returns true if cleanups were started (or cut short) there: Deno must
   * then keep the event loop going.
   */
  naturalEnd(): boolean;
  /**
   * An uncaught exception or unhandled rejection. Returns true if the exit
   * machinery takes it over (the runtime's default crash is then held back
   * until the cleanups ran), false to leave it alone.
   */
  crash(kind: CrashKind, error: unknown, handledByApp: boolean): boolean;
  /** `process.exit()` / `Deno.exit()`: synchronous, last. */
  exit(): void;
}

/** One runtime's way of doing what the exit machinery needs. */
export interface ProcessAdapter {
  /** `"deno"`, or `"node"` for Node and Bun. */
  readonly kind: "deno" | "node";
  readonly windows: boolean;
  /** Adds a signal listener; false if this runtime or OS has no such signal. */
  onSignal(signal: string, listener: () => void): boolean;
  offSignal(signal: string, listener: () => void): void;
  /**
   * How many listeners other than ours the signal has, or `undefined` where
   * the runtime cannot tell (Deno).
   */
  otherSignalListeners(signal: string): number | undefined;
  /** Installs the hooks for natural end, crashes and explicit exit. */
  listen(hooks: ExitHooks): () => void;
  /**
   * Calls `listener` synchronously as the process ends, whatever ends it
   * (Node/Bun `exit`, Deno `unload`, and before {@linkcode raise}), and
   * changes nothing else about how it ends: neither keeps the process alive
   * nor holds back a crash. It may be called twice.
   */
  atExit(listener: () => void): void;
  /**
   * Ends the process as killed by `signal`: re-raised at ourselves (our
   * listener must be gone by then), or, where that is impossible (Windows,
   * PID 1, or re-raising failed), `exit(128 + n)`.
   */
  raise(signal: string): void;
  exit(code: number): void;
  /**
   * Calls `then` once what was written to stdout and stderr has left the
   * process (at most {@linkcode FLUSH_LIMIT} ms later): Node writes to a
   * pipe that is full, or to a socket, asynchronously, and what the
   * cleanups and the report printed would be lost if the process ended
   * now. Elsewhere at once.
   */
  afterOutput(then: () => void): void;
  /** Sets the status the process will end with when its event loop is dry. */
  setExitCode(code: number): void;
  /** The status set so far (`process.exitCode`, `Deno.exitCode`). */
  exitCode(): number | undefined;
  /**
   * Ends the process the way the runtime ends it on this crash: Deno
   * throws it again (its report quotes the error's own stack); Node and
   * Bun print it as they would and exit 1, since a rethrow's report would
   * point at our rethrow instead of the original throw.
   */
  rethrow(kind: CrashKind, error: unknown): void;
  /**
   * Prints the crash as close to the runtime's own report as possible,
   * synchronously, for when the process ends some other way (an explicit
   * exit, a signal) before the runtime could report it.
   */
  reportCrash(kind: CrashKind, error: unknown): void;
  /**
   * True in a worker (a Node or Bun worker thread, a Deno web worker): its
   * exit is not the process's, and the process's signals are not its own.
   */
  workerThread(): boolean;
  /** Makes a timer not keep the event loop alive. */
  unref(timer: unknown): void;
  /** Writes one line (or several) to stderr, synchronously. */
  writeError(text: string): void;
  /**
   * Runs `drain` (cleanups, from the exit event) with the runtime's exit
   * held: there a second `process.exit()` / `Deno.exit()` would end the
   * process at once, skipping every cleanup after the one that called it.
   * Held, that call sets the status as the runtime's would (the first such
   * call's status is kept), calls `rest`, which runs the cleanups not
   * started yet, lets go of the exit, calls `finish`, which reports, and
   * then ends the process: it never returns to the cleanup that made it,
   * as an exit would not.
   */
  holdExit(drain: () => void, rest: () => void, finish: () => void): void;
}

interface DenoLike {
  pid: number;
  inspect?(value: unknown): string;
  build: { os: string };
  addSignalListener(signal: string, fn: () => void): void;
  removeSignalListener(signal: string, fn: () => void): void;
  kill(pid: number, signal: string): void;
  exit(code: number): never;
  exitCode: number;
  unrefTimer(id: number): void;
}

interface WritableLike {
  writableLength?: number;
  destroyed?: boolean;
  write(chunk: string, done: () => void): unknown;
}

interface NodeProcessLike {
  stdout?: WritableLike;
  stderr?: WritableLike;
  pid: number;
  platform: string;
  version?: string;
  exitCode: number | string | undefined;
  execArgv?: readonly string[];
  env?: Record<string, string | undefined>;
  versions?: Record<string, string | undefined>;
  getBuiltinModule?(id: string): unknown;
  on(event: string, fn: (...args: never[]) => void): unknown;
  prependListener?(event: string, fn: (...args: never[]) => void): unknown;
  off(event: string, fn: (...args: never[]) => void): unknown;
  emit?(event: string, ...args: unknown[]): boolean;
  hasUncaughtExceptionCaptureCallback?(): boolean;
  listenerCount(event: string): number;
  listeners(event: string): readonly unknown[];
  kill(pid: number, signal: string): void;
  exit(code: number): never;
}

interface EventTargetLike {
  addEventListener(type: string, fn: (event: never) => void): void;
  removeEventListener(type: string, fn: (event: never) => void): void;
}

interface CancelableEvent {
  defaultPrevented: boolean;
  preventDefault(): void;
}

const global = globalThis as unknown as {
  Deno?: DenoLike;
  process?: NodeProcessLike;
  console: { error(...data: unknown[]): void };
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(timer: unknown): void;
  AbortController: new () => AbortControllerLike;
} & EventTargetLike;

/**
 * The part of `AbortController` the exit machinery uses. Timers and abort
 * controllers are read through `globalThis`: the package is compiled for
 * npm without DOM or Node typings, and every supported runtime has them.
 */
export interface AbortControllerLike {
  readonly signal: AbortSignalLike;
  abort(reason?: unknown): void;
}

/**
 * The part of an `AbortSignal` that `disposeAsync({ signal })` uses; any
 * `AbortSignal` is one.
 *
 * @example
 * ```ts
 * import type { AbortSignalLike } from "@cleanup/defer";
 *
 * const signal: AbortSignalLike = AbortSignal.timeout(1_000);
 * ```
 */
export interface AbortSignalLike {
  /** Whether it has aborted. */
  readonly aborted: boolean;
  /** Why it aborted: the `cause` of the error `disposeAsync()` rejects with. */
  readonly reason?: unknown;
  /** Adds the `"abort"` listener. */
  addEventListener(type: "abort", listener: () => void): void;
  /** Removes it again. */
  removeEventListener(type: "abort", listener: () => void): void;
}

/** `new AbortController()`. */
export function abortController(): AbortControllerLike {
  return new global.AbortController();
}

/** `setTimeout(fn, ms)`. */
export function setTimer(fn: () => void, ms: number): unknown {
  return global.setTimeout(fn, ms);
}

/** `clearTimeout(timer)`. */
export function clearTimer(timer: unknown): void {
  global.clearTimeout(timer);
}

let cached: ProcessAdapter | null | undefined;

/** This runtime's adapter, or `null` where there is no process (a browser). */
export function processAdapter(): ProcessAdapter | null {
  if (cached !== undefined) return cached;
  const deno = global.Deno;
  const proc = global.process;
  if (deno !== undefined && typeof deno.addSignalListener === "function") {
    cached = denoAdapter(deno);
  } else if (
    proc !== undefined && proc !== null && typeof proc.on === "function" &&
    typeof proc.kill === "function"
  ) {
    cached = nodeAdapter(proc);
  } else {
    cached = null;
  }
  return cached;
}

/** Makes `timer` (from `setTimeout`) not keep the event loop alive. */
function unrefTimer(timer: unknown): void {
  const deno = global.Deno;
  if (typeof timer === "number") {
    if (deno !== undefined && typeof deno.unrefTimer === "function") {
      deno.unrefTimer(timer);
    }
  } else if (timer !== null && typeof timer === "object") {
    const t = timer as { unref?: () => void };
    if (typeof t.unref === "function") t.unref();
  }
}

function writeError(text: string): void {
  global.console.error(text);
}

/** What Deno prints for a crash: "error: Uncaught (in promise) Error: ...". */
function reportDenoCrash(
  deno: DenoLike,
  kind: CrashKind,
  error: unknown,
): void {
  let text: string;
  try {
    text = typeof deno.inspect === "function"
      ? deno.inspect(error)
      : error instanceof Error
      ? String(error.stack ?? error)
      : String(error);
  } catch {
    text = UNREADABLE; // Deno.inspect throws for a revoked proxy
  }
  writeError(
    `error: Uncaught ${
      kind === "unhandledRejection" ? "(in promise) " : ""
    }${text}`,
  );
}

function denoAdapter(deno: DenoLike): ProcessAdapter {
  const windows = deno.build.os === "windows";
  const rethrow = (kind: CrashKind, error: unknown): void => {
    if (kind === "unhandledRejection") {
      Promise.reject(error);
    } else {
      global.setTimeout(() => {
        throw error;
      }, 0);
    }
  };
  return {
    kind: "deno",
    windows,
    // Through Deno's `process` where it has one: libraries that count the
    // signal's listeners (signal-exit re-raises only when it is the last)
    // count `process` listeners, and would not see one added with
    // Deno.addSignalListener: they would end the process mid-cleanup.
    onSignal(signal, listener) {
      const proc = global.process;
      try {
        if (proc !== undefined && typeof proc.on === "function") {
          proc.on(signal, listener);
        } else {
          deno.addSignalListener(signal, listener);
        }
        return true;
      } catch {
        return false; // not a signal on this OS (Windows: SIGINT, SIGBREAK)
      }
    },
    offSignal(signal, listener) {
      const proc = global.process;
      try {
        if (proc !== undefined && typeof proc.off === "function") {
          proc.off(signal, listener);
        } else {
          deno.removeSignalListener(signal, listener);
        }
      } catch {
        // never added
      }
    },
    otherSignalListeners() {
      return undefined;
    },
    atExit(listener) {
      atExitListeners.push(listener);
      global.addEventListener("unload", listener);
    },
    listen(hooks) {
      const onBeforeUnload = (event: CancelableEvent): void => {
        // Keeps the event loop going for the async cleanups; Deno fires
        // beforeunload again once it is dry.
        if (hooks.naturalEnd()) event.preventDefault();
      };
      // Ours runs before any listener the application adds after binding,
      // and Deno cannot count listeners: hold the crash back, watch
      // whether a later listener calls preventDefault() too, and decide
      // once the event has been dispatched. A listener that prevented it
      // before ours owns it at once.
      const onCrash = (
        kind: CrashKind,
        event: CancelableEvent,
        payload: unknown,
        promise?: unknown,
      ): void => {
        // Another copy of this package (two versions side by side) that
        // held the crash back leaves the runtime's preventDefault() under
        // the mark (see `OURS`), and whether a listener of the
        // application's has called it since: only then is it the
        // application's.
        const held = (event as unknown as Record<symbol, unknown>)[OURS] as
          | Held
          | undefined;
        const heldBefore = typeof held === "object" && held !== null &&
          typeof held.prevent === "function";
        if (event.defaultPrevented && (!heldBefore || held.app)) {
          hooks.crash(kind, payload, true);
          return;
        }
        const mark: Held = heldBefore
          ? held
          : { prevent: event.preventDefault, app: false };
        // A later listener's call goes through another copy's watch too.
        const before = event.preventDefault;
        let app = false;
        try {
          Object.defineProperty(event, "preventDefault", {
            value(): void {
              app = true;
              mark.app = true;
              before.call(event);
            },
            configurable: true,
          });
          Object.defineProperty(event, OURS, {
            value: mark,
            configurable: true,
          });
        } catch {
          // a frozen event: later listeners go unseen
        }
        mark.prevent.call(event);
        // A microtask: Promise, not queueMicrotask, which the npm build's
        // typings (no DOM, no Node) do not have.
        void Promise.resolve().then(() => {
          if (
            !app && kind === "unhandledRejection" &&
            toProcessListeners(deno, mark, payload, promise)
          ) app = true;
          // Not ours after all (the stacks were disposed meanwhile): what
          // we held back is owed to the runtime.
          if (!hooks.crash(kind, payload, app) && !app) rethrow(kind, payload);
        });
      };
      const onError = (event: CancelableEvent & { error: unknown }): void =>
        onCrash("uncaughtException", event, event.error);
      const onRejection = (
        event: CancelableEvent & { reason: unknown; promise: unknown },
      ): void =>
        onCrash("unhandledRejection", event, event.reason, event.promise);
      const onUnload = (): void => hooks.exit();
      global.addEventListener("beforeunload", onBeforeUnload);
      global.addEventListener("error", onError);
      global.addEventListener("unhandledrejection", onRejection);
      global.addEventListener("unload", onUnload);
      return () => {
        global.removeEventListener("beforeunload", onBeforeUnload);
        global.removeEventListener("error", onError);
        global.removeEventListener("unhandledrejection", onRejection);
        global.removeEventListener("unload", onUnload);
      };
    },
    afterOutput(then) {
      then(); // Deno writes stdout and stderr synchronously
    },
    raise(signal) {
      // The first process of a PID namespace (a container's entry point
      // without an init, as under `docker run` or Kubernetes) is never
      // killed by a signal it sends itself: the kernel drops it, unless
      // something listens to it. Only `process` listeners can be counted
      // on Deno; one added with Deno.addSignalListener goes unseen.
      const app = processListeners(signal) > 0;
      if (!windows && (deno.pid !== 1 || app)) {
        // The signal ends the process, unless the application listens:
        // it then decides, and `unload` comes if it ends.
        if (!app) beforeRaise();
        try {
          // Needs no permission for the process's own pid (checked on
          // Deno 2.9: `--allow-run` is only asked for other pids).
          deno.kill(deno.pid, signal);
          // Deno acts on a signal from its event loop: should the loop run
          // dry first (at the natural end, on a busy machine), the process
          // ended with status 0 instead (6 runs in 120 under load). This
          // timer keeps the loop alive until the signal ends the process;
          // it only runs out if a listener of the application's caught the
          // signal and the process goes on.
          setTimer(() => {}, 1_000);
          return;
        } catch {
          // fall through to the status a shell would have shown
        }
      }
      deno.exit(signalStatus(signal));
    },
    exit(code) {
      deno.exit(code);
    },
    setExitCode(code) {
      deno.exitCode = code;
    },
    exitCode() {
      return deno.exitCode;
    },
    rethrow,
    reportCrash(kind, error) {
      reportDenoCrash(deno, kind, error);
    },
    workerThread() {
      // A web worker gets the process's signals as the main thread does,
      // but the signal it re-raises after its own cleanup would reach the
      // main thread's listeners as a second one and cut their cleanup.
      // Read from the global's class string: node:worker_threads workers
      // on Deno are web workers too, but without the WorkerGlobalScope
      // global.
      return /WorkerGlobalScope\]$/.test(
        Object.prototype.toString.call(globalThis),
      );
    },
    unref: unrefTimer,
    writeError,
    holdExit(drain, rest, finish) {
      // Deno's `process.exit()` sets the status its own way, emits its
      // "exit" event, then calls `Deno.exit()`: holding that is enough.
      holding(
        deno as unknown as Record<string, unknown>,
        "exit",
        {
          status(args) {
            if (typeof args[0] === "number") deno.exitCode = int32(args[0]);
          },
          get: () => deno.exitCode,
          set: (code) => void (deno.exitCode = code as number),
          // With no code, the status set so far.
          end: (original) => original.call(deno),
        },
        drain,
        rest,
        finish,
      );
    },
  };
}

/** A runtime's function that ends the process. */
type ExitFunction = (this: unknown, ...args: unknown[]) => unknown;

/** What {@linkcode holding} needs of a runtime's exit function. */
interface HeldExit {
  /** Sets the status a call with `args` asks for; throws as the runtime would. */
  status(args: unknown[]): void;
  /** The status so far, and setting it back. */
  get(): unknown;
  set(code: unknown): void;
  /** Ends the process with the status so far, through the original. */
  end(original: ExitFunction): void;
}

/**
 * Runs `drain` with `owner[key]`, the function that ends the process,
 * replaced by one that, called from inside `drain`, sets the status
 * (the first call's is kept), calls `rest`, puts the original back,
 * calls `finish`, and ends the process through the original, never
 * returning. Called after `drain`, it is the original (a cleanup may have
 * kept a reference). Put back afterwards, unless a cleanup replaced it
 * meanwhile; where it cannot be replaced, a second exit ends the process
 * as it would without us.
 */
function holding(
  owner: Record<string, unknown>,
  key: string,
  exit: HeldExit,
  drain: () => void,
  rest: () => void,
  finish: () => void,
): void {
  const original = owner[key];
  if (typeof original !== "function") return drain();
  let active = true;
  let calls = 0;
  let kept: unknown;
  const held = function (this: unknown, ...args: unknown[]): unknown {
    if (!active) return Reflect.apply(original, this, args);
    exit.status(args);
    if (calls++ === 0) kept = exit.get();
    else exit.set(kept);
    rest();
    // An exit further in may have set the status before it could be held
    // (at the call-stack limit): the first held call's status stands.
    exit.set(kept);
    active = false;
    putBack();
    // Outside the hold: a report function that exits ends the process.
    finish();
    return exit.end(original as ExitFunction);
  };
  const putBack = (): void => {
    try {
      if (owner[key] === held) owner[key] = original;
    } catch {
      // a cleanup made it read-only: ours forwards to the original now
    }
  };
  try {
    owner[key] = held;
  } catch {
    // read-only
  }
  try {
    drain();
  } finally {
    active = false;
    putBack();
  }
}

/**
 * A number as `Deno.exit()` takes it (checked on Deno 2.9): NaN as 0, then
 * saturated to 64 bits and cut to 32, as Rust's `code as i64 as i32`
 * (1.5 is 1, 2 ** 32 + 5 is 5, Infinity is -1).
 */
function int32(code: number): number {
  if (Number.isNaN(code)) return 0;
  if (code >= 2 ** 63) return -1;
  if (code <= -(2 ** 63)) return 0;
  return Number(BigInt.asIntN(32, BigInt(Math.trunc(code))));
}

/** Stands for a crash value that throws when shown (a revoked proxy). */
const UNREADABLE = "(a thrown value that cannot be shown)";

/**
 * Marks a crash listener as this package's, in every copy of it loaded in
 * the process (two versions installed side by side): one copy must not
 * take another's listener for the application's. On Deno, a crash event
 * one copy held back carries a {@linkcode Held} record under it.
 */
const OURS: unique symbol = Symbol.for("@cleanup/defer/listener") as never;

/** What a crash event one copy held back carries under `OURS` (Deno). */
interface Held {
  /** The runtime's own preventDefault. */
  prevent: () => void;
  /** A listener of the application's has called preventDefault. */
  app: boolean;
  /**
   * A rejection handed to the application's `process` listeners (see
   * `toProcessListeners()`): by one copy only.
   */
  handed?: boolean;
}

/**
 * The listeners given to `atExit()` by every copy of this package: the
 * copy that raises the signal calls them all. Neither `exit` (Node, Bun) nor
 * `unload` (Deno) fires when a signal raised again ends the process, so
 * {@linkcode beforeRaise} calls them first.
 */
const atExitListeners: (() => void)[] = sharedByCopies(
  "@cleanup/defer/atExit",
  Array.isArray,
  () => [],
);

/**
 * The record every copy of this package in the process (two versions
 * side by side) shares under `Symbol.for(name)` on the global object:
 * the one found there if `valid`, else `make()`'s, put there. A frozen
 * global keeps it from being shared: this copy then keeps its own.
 */
export function sharedByCopies<T>(
  name: string,
  valid: (found: unknown) => boolean,
  make: () => T,
): T {
  const key = Symbol.for(name);
  const holder = globalThis as unknown as Record<symbol, unknown>;
  const found = holder[key];
  if (valid(found)) return found as T;
  const made = make();
  try {
    Object.defineProperty(holder, key, {
      value: made,
      writable: false,
      enumerable: false,
      configurable: true,
    });
  } catch {
    // A frozen global: this copy's own record.
  }
  return made;
}

/**
 * Calls the `atExit()` listeners before a signal is raised again: the
 * process ends by it (unless a listener of the application's keeps it
 * alive; a listener called here is one that can be called again then).
 */
function beforeRaise(): void {
  for (const listener of atExitListeners) {
    try {
      listener();
    } catch {
      // the end goes on
    }
  }
}

/** How many listeners of `signal` Deno's `process` has (0 without one). */
function processListeners(signal: string): number {
  const proc = global.process;
  try {
    return proc !== undefined && typeof proc.listenerCount === "function"
      ? proc.listenerCount(signal)
      : 0;
  } catch {
    return 0;
  }
}

/**
 * Deno hands an unhandled rejection that no `unhandledrejection` listener
 * prevented to the `unhandledRejection` listeners of its `process` (else
 * to its `uncaughtException` ones), after the event's own listeners: held
 * back by us, it never reaches them.
 * Whether the application has one, and if so, hands it over as Deno would
 * have (a listener that throws is an uncaught exception then).
 */
function toProcessListeners(
  deno: DenoLike,
  mark: Held,
  reason: unknown,
  promise: unknown,
): boolean {
  const proc = global.process;
  if (
    proc === undefined || typeof proc.listeners !== "function" ||
    typeof proc.emit !== "function"
  ) return false;
  // Deno's order: `unhandledRejection` listeners, else `uncaughtException`
  // ones, as Node does.
  const rejection = appListens(proc, "unhandledRejection");
  if (!rejection && !appListens(proc, "uncaughtException")) return false;
  if (mark.handed === true) return true;
  mark.handed = true;
  if (rejection) {
    try {
      proc.emit("unhandledRejection", reason, promise);
    } catch (error) {
      global.setTimeout(() => {
        throw error;
      }, 0);
    }
    return true;
  }
  const threw = emitUncaught(proc, reason, true);
  if (threw !== null) {
    // As Deno ends on a throw from such a listener: thrown again, it would
    // reach that listener a second time.
    reportDenoCrash(deno, "uncaughtException", threw.error);
    deno.exit(1);
  }
  return true;
}

/**
 * Gives an unhandled rejection to the `uncaughtException` listeners (with
 * `listeners`; else to the monitors only) as Node does when no
 * `unhandledRejection` listener takes it: the monitors first, a reason
 * that is not an error wrapped in one, origin `"unhandledRejection"`.
 * What a listener threw, if one did.
 */
function emitUncaught(
  proc: NodeProcessLike,
  reason: unknown,
  listeners: boolean,
): { error: unknown } | null {
  const error = isError(reason) ? reason : unhandledRejectionError(reason);
  emitting = true;
  try {
    proc.emit?.("uncaughtExceptionMonitor", error, "unhandledRejection");
    if (listeners) {
      proc.emit?.("uncaughtException", error, "unhandledRejection");
    }
    return null;
  } catch (thrown) {
    return { error: thrown };
  } finally {
    emitting = false;
  }
}

/**
 * Set while {@linkcode emitUncaught} emits: our own `uncaughtException`
 * listener then has nothing to decide (the rejection's is decided).
 */
let emitting = false;

/** Whether `value` is an error, without running a proxy's traps. */
function isError(value: unknown): boolean {
  const test = (Error as { isError?: (value: unknown) => boolean }).isError;
  if (typeof test === "function") return test(value);
  try {
    return value instanceof Error;
  } catch {
    return false;
  }
}

/** Node's error for a rejection with a reason that is not an error. */
function unhandledRejectionError(reason: unknown): Error {
  let text: string;
  try {
    text = String(reason);
  } catch {
    text = UNREADABLE;
  }
  const error = new Error(
    `This error originated either by throwing inside of an async function without a catch block, or by rejecting a promise which was not handled with .catch(). The promise rejected with the reason "${text}".`,
  );
  error.name = "UnhandledPromiseRejection";
  Object.defineProperty(error, "code", {
    value: "ERR_UNHANDLED_REJECTION",
    writable: true,
    configurable: true,
  });
  return error;
}

function ours(listener: object): void {
  Object.defineProperty(listener, OURS, { value: true });
}

/** Whether a listener of `event` is not one of ours (nor another copy's). */
function appListens(proc: NodeProcessLike, event: string): boolean {
  return proc.listeners(event).some((listener) =>
    typeof listener !== "function" || !(OURS in listener)
  );
}

/** The longest the end of the process waits for its output to leave. */
const FLUSH_LIMIT = 2_000;

/**
 * Calls `then` once every write queued on `streams` so far is done, or
 * after {@linkcode FLUSH_LIMIT} ms (a reader that never reads must not
 * keep the process alive), at once if none is queued.
 */
function afterFlush(
  streams: readonly (WritableLike | undefined)[],
  then: () => void,
): void {
  const queued = streams.filter((s): s is WritableLike =>
    s !== undefined && typeof s.writableLength === "number" &&
    s.writableLength > 0 && s.destroyed !== true
  );
  if (queued.length === 0) return then();
  let left = queued.length;
  let called = false;
  const done = (): void => {
    if (called) return;
    called = true;
    clearTimer(timer);
    then();
  };
  const timer = setTimer(done, FLUSH_LIMIT);
  for (const stream of queued) {
    try {
      // Called once the writes before it are done (or failed).
      stream.write("", () => {
        if (--left === 0) done();
      });
    } catch {
      done();
    }
  }
}

function nodeAdapter(proc: NodeProcessLike): ProcessAdapter {
  const windows = proc.platform === "win32";
  const reportCrash = (kind: CrashKind, error: unknown): void => {
    // What Node and Bun print for a crash, less Node's quote of the
    // throwing line (only the runtime knows it): the error as
    // console.error shows it (Bun quotes the line from the stack).
    try {
      if (error instanceof Error) global.console.error(error);
      else {
        global.console.error(
          kind === "unhandledRejection" ? "Uncaught (in promise)" : "Uncaught",
          error,
        );
      }
    } catch {
      // A value whose traps throw: named, since it cannot be shown.
      global.console.error(`Uncaught ${UNREADABLE}`);
    }
    const bun = proc.versions?.bun !== undefined;
    if (!bun && typeof proc.version === "string") {
      global.console.error(`\nNode.js ${proc.version}`);
    }
  };

  return {
    kind: "node",
    windows,
    onSignal(signal, listener) {
      try {
        proc.on(signal, listener);
        return true;
      } catch {
        return false;
      }
    },
    offSignal(signal, listener) {
      proc.off(signal, listener);
    },
    otherSignalListeners(signal) {
      return proc.listenerCount(signal);
    },
    atExit(listener) {
      atExitListeners.push(listener);
      proc.on("exit", listener);
    },
    listen(hooks) {
      const onBeforeExit = (): void => void hooks.naturalEnd();
      // A listener of the application's means Node never crashes by
      // default: the crash is its business. Ours are marked, another copy
      // of this package's too (see `OURS`): those do not count.
      // Under --unhandled-rejections=strict Node raises a rejection as an
      // exception first and emits the rejection only once that was taken.
      let raisedRejection = false;
      const onException = (error: unknown, origin?: unknown): void => {
        if (emitting) return; // our own hand-over: see onRejection
        if (origin === "unhandledRejection") raisedRejection = true;
        hooks.crash(
          "uncaughtException",
          error,
          appListens(proc, "uncaughtException"),
        );
      };
      // Node gives an unhandled rejection to `uncaughtException` listeners
      // when no `unhandledRejection` listener takes it (first, under
      // --unhandled-rejections=strict); ours takes it, so in the default
      // mode it hands it over as Node would have. Bun does neither.
      const toException = proc.versions?.bun === undefined;
      const strict = rejectionsMode(proc) === "strict";
      const onRejection = (reason: unknown): void => {
        if (toException && strict) {
          // Emitted only once the exception raised for it was taken: by
          // us (the crash under way), by a listener of the application's
          // (listed then if anything), or by a capture callback.
          const raised = raisedRejection;
          raisedRejection = false;
          if (raised) return;
          // Else a capture callback took it; without one, the mode was
          // misread (NODE_OPTIONS changed since), and it goes on below.
          if (proc.hasUncaughtExceptionCaptureCallback?.() === true) {
            hooks.crash("unhandledRejection", reason, true);
            return;
          }
        }
        let app = appListens(proc, "unhandledRejection");
        if (!app && toException) {
          app = appListens(proc, "uncaughtException");
          const threw = emitUncaught(proc, reason, app);
          if (threw !== null) {
            // As Node ends on a throw from such a listener.
            reportCrash("uncaughtException", threw.error);
            afterFlush([proc.stdout, proc.stderr], () => proc.exit(7));
          }
        }
        hooks.crash("unhandledRejection", reason, app);
      };
      ours(onException);
      ours(onRejection);
      // Under --unhandled-rejections=warn, none or warn-with-error-code an
      // unhandled rejection is not fatal: it is left alone, and without
      // our listener, which would silence the warning and the status.
      const rejections = rejectionsFatal(proc);
      const onExit = (): void => hooks.exit();
      proc.on("beforeExit", onBeforeExit);
      // First among the crash listeners: Node removes a `once` listener
      // before it calls it, so ours, run after it, would not count it.
      const first = typeof proc.prependListener === "function"
        ? proc.prependListener.bind(proc)
        : proc.on.bind(proc);
      first("uncaughtException", onException as (...a: never[]) => void);
      if (rejections) {
        first("unhandledRejection", onRejection as (...a: never[]) => void);
      }
      proc.on("exit", onExit);
      return () => {
        proc.off("beforeExit", onBeforeExit);
        proc.off("uncaughtException", onException as (...a: never[]) => void);
        if (rejections) {
          proc.off(
            "unhandledRejection",
            onRejection as (...a: never[]) => void,
          );
        }
        proc.off("exit", onExit);
      };
    },
    afterOutput(then) {
      afterFlush([proc.stdout, proc.stderr], then);
    },
    raise(signal) {
      // As PID 1 the signal would be dropped unless the application
      // listens to it: see Deno's raise() above.
      const app = proc.listenerCount(signal) > 0;
      if (!windows && (proc.pid !== 1 || app)) {
        if (!app) beforeRaise(); // as in Deno's raise() above
        try {
          proc.kill(proc.pid, signal);
          // A listener of the application's (signal-exit) gets the signal
          // from the event loop: should the cleanup have stopped what kept
          // the loop alive, the process ended with status 0 before it did
          // (Node, with signal-exit; Bun, with any listener). The signal
          // is on its way already, so a short timer does (unlike Deno's,
          // whose signals go through another thread): a listener that lets
          // the process go on delays its end by that much at most.
          if (app) setTimer(() => {}, 100);
          return;
        } catch {
          // fall through
        }
      }
      proc.exit(signalStatus(signal));
    },
    exit(code) {
      proc.exit(code);
    },
    setExitCode(code) {
      proc.exitCode = code;
    },
    exitCode() {
      const code = proc.exitCode;
      return code === undefined || code === "" ? undefined : Number(code);
    },
    rethrow(kind, error) {
      reportCrash(kind, error);
      afterFlush([proc.stdout, proc.stderr], () => proc.exit(1));
    },
    reportCrash,
    workerThread() {
      // process.getBuiltinModule (Node 22.3+, Bun) reads the module only
      // when a stack is bound: nothing is imported at load time, so the
      // package still loads in a browser.
      if (typeof proc.getBuiltinModule !== "function") return false;
      try {
        const threads = proc.getBuiltinModule("node:worker_threads") as
          | { isMainThread?: unknown }
          | undefined;
        return threads?.isMainThread === false;
      } catch {
        return false;
      }
    },
    unref: unrefTimer,
    writeError,
    holdExit(drain, rest, finish) {
      // `process.exit()` sets `exitCode` (checking it), then calls
      // `process.reallyExit()`, read from `process` at that moment, in Node
      // and in Bun: holding that covers an `exit` taken from
      // `node:process` beforehand too.
      holding(
        proc as unknown as Record<string, unknown>,
        "reallyExit",
        {
          // process.exit() has set it already; a direct call sets it here.
          status(args) {
            if (typeof args[0] === "number") proc.exitCode = args[0];
          },
          get: () => proc.exitCode,
          set: (code) => void (proc.exitCode = code as number | undefined),
          end: (original) => original.call(proc, proc.exitCode || 0),
        },
        drain,
        rest,
        finish,
      );
    },
  };
}

/**
 * Whether an unhandled rejection ends the process: the mode given by
 * `--unhandled-rejections` on the command line or in `NODE_OPTIONS` (the
 * last one wins, as in Node); `throw` (the default) and `strict` are fatal.
 */
export function rejectionsFatal(proc: {
  execArgv?: readonly string[];
  env?: Record<string, string | undefined>;
}): boolean {
  const mode = rejectionsMode(proc);
  return mode !== "warn" && mode !== "none" && mode !== "warn-with-error-code";
}

/**
 * Node's `--unhandled-rejections` mode, from the command line and
 * `NODE_OPTIONS`: `"throw"` unless set.
 */
function rejectionsMode(proc: {
  execArgv?: readonly string[];
  env?: Record<string, string | undefined>;
}): string {
  // Node reads NODE_OPTIONS as a shell would: double quotes anywhere in
  // a word (`"--unhandled-rejections=strict"`, `--x=st"ric"t`) only group.
  const words = [
    ...(proc.env?.NODE_OPTIONS ?? "").split(/\s+/).map((word) =>
      word.replaceAll('"', "")
    ),
    ...(proc.execArgv ?? []),
  ];
  let mode = "throw";
  for (let i = 0; i < words.length; i++) {
    const word = words[i];
    if (word.startsWith("--unhandled-rejections=")) {
      mode = word.slice("--unhandled-rejections=".length);
    } else if (word === "--unhandled-rejections" && i + 1 < words.length) {
      mode = words[++i];
    }
  }
  return mode;
}
