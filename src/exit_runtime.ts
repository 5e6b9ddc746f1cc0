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
export function signalStatus(signal: string): number {
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
   * (Node/Bun `exit`, Deno `unload`), and changes nothing else about how it
   * ends: neither keeps the process alive nor holds back a crash.
   */
  atExit(listener: () => void): void;
  /**
   * Ends the process as killed by `signal`: re-raised at ourselves (our
   * listener must be gone by then), or, where that is impossible (Windows,
   * or re-raising failed), `exit(128 + n)`.
   */
  raise(signal: string): void;
  exit(code: number): void;
  /** Sets the status the process will end with when its event loop is dry. */
  setExitCode(code: number): void;
  /** Throws `error` again from a fresh task, for the runtime to report. */
  rethrow(kind: CrashKind, error: unknown): void;
  /** Makes a timer not keep the event loop alive. */
  unref(timer: unknown): void;
  /** Writes one line (or several) to stderr, synchronously. */
  writeError(text: string): void;
}

interface DenoLike {
  pid: number;
  build: { os: string };
  addSignalListener(signal: string, fn: () => void): void;
  removeSignalListener(signal: string, fn: () => void): void;
  kill(pid: number, signal: string): void;
  exit(code: number): never;
  exitCode: number;
  unrefTimer(id: number): void;
}

interface NodeProcessLike {
  pid: number;
  platform: string;
  exitCode: number | undefined;
  on(event: string, fn: (...args: never[]) => void): unknown;
  off(event: string, fn: (...args: never[]) => void): unknown;
  listenerCount(event: string): number;
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
export function unrefTimer(timer: unknown): void {
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

function denoAdapter(deno: DenoLike): ProcessAdapter {
  const windows = deno.build.os === "windows";
  return {
    kind: "deno",
    windows,
    onSignal(signal, listener) {
      try {
        deno.addSignalListener(signal, listener);
        return true;
      } catch {
        return false; // not a signal on this OS (Windows: SIGINT, SIGBREAK)
      }
    },
    offSignal(signal, listener) {
      try {
        deno.removeSignalListener(signal, listener);
      } catch {
        // never added
      }
    },
    otherSignalListeners() {
      return undefined;
    },
    atExit(listener) {
      global.addEventListener("unload", listener);
    },
    listen(hooks) {
      const onBeforeUnload = (event: CancelableEvent): void => {
        // Keeps the event loop going for the async cleanups; Deno fires
        // beforeunload again once it is dry.
        if (hooks.naturalEnd()) event.preventDefault();
      };
      const onError = (event: CancelableEvent & { error: unknown }): void => {
        if (
          hooks.crash("uncaughtException", event.error, event.defaultPrevented)
        ) {
          event.preventDefault();
        }
      };
      const onRejection = (
        event: CancelableEvent & { reason: unknown },
      ): void => {
        if (
          hooks.crash(
            "unhandledRejection",
            event.reason,
            event.defaultPrevented,
          )
        ) {
          event.preventDefault();
        }
      };
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
    raise(signal) {
      if (!windows) {
        try {
          // Needs no permission for the process's own pid (checked on
          // Deno 2.9: `--allow-run` is only asked for other pids).
          deno.kill(deno.pid, signal);
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
    rethrow(kind, error) {
      if (kind === "unhandledRejection") {
        Promise.reject(error);
      } else {
        global.setTimeout(() => {
          throw error;
        }, 0);
      }
    },
    unref: unrefTimer,
    writeError,
  };
}

function nodeAdapter(proc: NodeProcessLike): ProcessAdapter {
  const windows = proc.platform === "win32";
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
      proc.on("exit", listener);
    },
    listen(hooks) {
      const onBeforeExit = (): void => void hooks.naturalEnd();
      // The listener count includes ours: more than one means the
      // application listens too, and Node then never crashes by default.
      const onException = (error: unknown): void => {
        const app = proc.listenerCount("uncaughtException") > 1;
        hooks.crash("uncaughtException", error, app);
      };
      const onRejection = (reason: unknown): void => {
        const app = proc.listenerCount("unhandledRejection") > 1;
        hooks.crash("unhandledRejection", reason, app);
      };
      const onExit = (): void => hooks.exit();
      proc.on("beforeExit", onBeforeExit);
      proc.on("uncaughtException", onException as (...a: never[]) => void);
      proc.on("unhandledRejection", onRejection as (...a: never[]) => void);
      proc.on("exit", onExit);
      return () => {
        proc.off("beforeExit", onBeforeExit);
        proc.off("uncaughtException", onException as (...a: never[]) => void);
        proc.off("unhandledRejection", onRejection as (...a: never[]) => void);
        proc.off("exit", onExit);
      };
    },
    raise(signal) {
      if (!windows) {
        try {
          proc.kill(proc.pid, signal);
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
    rethrow(kind, error) {
      if (kind === "unhandledRejection") {
        Promise.reject(error);
      } else {
        global.setTimeout(() => {
          throw error;
        }, 0);
      }
    },
    unref: unrefTimer,
    writeError,
  };
}
