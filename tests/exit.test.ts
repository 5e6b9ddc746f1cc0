// Exit-bound stacks in real child processes, sent real signals: each child
// (tests/process/fixtures/child.ts) runs on the runtime running this suite.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { execFileSync, spawn } from "node:child_process";
import process from "node:process";
import { fileURLToPath } from "node:url";

const g = globalThis as { Deno?: { execPath(): string } };
const isDeno = g.Deno !== undefined;
const runtime = isDeno ? "deno" : "Bun" in globalThis ? "bun" : "node";

/** The command line running `script` on this very runtime. */
function command(
  script: string,
  args: string[],
  flags: string[] = [],
): [string, string[]] {
  // Deno: no permission flags at all; exit-bound stacks need none.
  if (g.Deno) return [g.Deno.execPath(), ["run", ...flags, script, ...args]];
  return [process.execPath, [...flags, script, ...args]];
}

const fixture = fileURLToPath(
  new URL("./process/fixtures/child.ts", import.meta.url),
);

interface Outcome {
  code: number | null;
  signal: string | null;
  /** Lines printed after "ready". */
  after: string[];
  lines: string[];
  stderr: string;
  /** Milliseconds from the first signal sent (or from start) to the end. */
  ms: number;
}

interface Child {
  /** Resolves once the child printed `line` on stdout. */
  waitFor(line: string): Promise<void>;
  /** Sends `signal` and starts the clock for `ms`. */
  kill(signal: NodeJS.Signals): void;
  /** Stops reading the child's output for `ms`: its pipes fill up. */
  holdOutput(ms: number): void;
  done: Promise<Outcome>;
}

/**
 * `wrap`: a command line the child runs under, which starts it as its
 * own child (`unshare --fork`): signals then go to that inner process.
 */
function run(
  script: string,
  args: string[],
  flags?: string[],
  wrap: string[] = [],
  env: Record<string, string> = {},
): Child {
  const [runtimePath, runtimeArgs] = command(script, args, flags);
  const [cmd, argv] = wrap.length === 0
    ? [runtimePath, runtimeArgs]
    : [wrap[0], [...wrap.slice(1), runtimePath, ...runtimeArgs]];
  const child = spawn(cmd, argv, {
    stdio: ["ignore", "pipe", "pipe"],
    env: { ...process.env, ...env },
  });
  let stdout = "";
  let stderr = "";
  let since = Date.now();
  let signalled = false;
  const waiters: { line: string; resolve: () => void }[] = [];
  // The wrapper's one child, from /proc (Linux, as `unshare` is), read by
  // `cat`: Deno lets only --allow-all read /proc, and --allow-run run it.
  const inner = (): number => {
    const pid = child.pid as number;
    const children = execFileSync(
      "cat",
      [`/proc/${pid}/task/${pid}/children`],
      {
        encoding: "utf8",
      },
    ).trim().split(" ");
    assert.equal(children.length, 1, `children of the wrapper: ${children}`);
    return Number(children[0]);
  };
  const check = (): void => {
    const lines = stdout.split("\n");
    for (const w of waiters.splice(0)) {
      if (lines.includes(w.line)) w.resolve();
      else waiters.push(w);
    }
  };
  child.stdout.setEncoding("utf8");
  child.stderr.setEncoding("utf8");
  child.stdout.on("data", (chunk: string) => {
    stdout += chunk;
    check();
  });
  child.stderr.on("data", (chunk: string) => void (stderr += chunk));
  // A child that hangs must not hang the suite.
  const guard = setTimeout(() => child.kill("SIGKILL"), 15_000);
  const done = new Promise<Outcome>((resolve) => {
    child.on("close", (code: number | null, signal: string | null) => {
      clearTimeout(guard);
      const lines = stdout.split("\n").filter((l) => l !== "");
      resolve({
        code,
        signal,
        lines,
        after: lines.slice(lines.indexOf("ready") + 1),
        stderr,
        ms: Date.now() - since,
      });
    });
  });
  return {
    waitFor(line) {
      return new Promise<void>((resolve, reject) => {
        waiters.push({ line, resolve });
        check();
        done.then((o) =>
          reject(
            new Error(`child ended (${o.code ?? o.signal}) before "${line}":
${stdout}${stderr}`),
          )
        );
      });
    },
    kill(signal) {
      if (!signalled) since = Date.now();
      signalled = true;
      // process.kill rather than child.kill: Deno's child.kill() sends a
      // signal only once per child, and reports it as the child's end.
      process.kill(wrap.length === 0 ? child.pid as number : inner(), signal);
    },
    holdOutput(ms) {
      child.stdout.pause();
      child.stderr.pause();
      setTimeout(() => {
        child.stdout.resume();
        child.stderr.resume();
      }, ms);
    },
    done,
  };
}

/**
 * A wrapper that runs the child as PID 1 of a PID namespace of its own (in
 * a user namespace: no privilege needed), as a container without an init
 * does.
 */
const asPid1 = [
  "unshare",
  "--user",
  "--map-root-user",
  "--pid",
  "--fork",
  "--kill-child",
];

/** Starts a fixture scenario, waits for "ready", sends `signal` if any. */
async function scenario(
  name: string,
  signal?: NodeJS.Signals,
  flags?: string[],
  wrap?: string[],
  env?: Record<string, string>,
): Promise<Outcome> {
  const child = run(fixture, [name], flags, wrap, env);
  await child.waitFor("ready");
  if (signal !== undefined) child.kill(signal);
  return await child.done;
}

/**
 * What a scenario whose crash the application took prints after "ready":
 * what its handlers printed, then the stack still open 200 ms later, then
 * its cleanup, run by the scenario itself.
 */
function leftOpen(...handled: string[]): string[] {
  return [...handled, "alive, stack open: true", "cleanup ran"];
}

/** The errors the exit report lists, each without its location. */
function reportLines(stderr: string): string[] {
  const lines = stderr.split("\n");
  const at = lines.findIndex((l) => /cleanup error\(s\)/.test(l));
  assert.notEqual(at, -1, `no cleanup errors reported:\n${stderr}`);
  const out: string[] = [];
  for (const line of lines.slice(at + 1)) {
    if (line.startsWith("    caused by: ")) continue;
    if (!line.startsWith("  ") || line.startsWith("    ")) break;
    out.push(line.trim().replace(/ \((in [^,)]*(, )?)?(at .*)?\)$/, ""));
  }
  return out;
}

describe("exit-bound stacks in a child process", { concurrency: 4 }, () => {
  it("disposes nested stacks newest first, each LIFO, on SIGINT, then ends as killed by SIGINT", async () => {
    const o = await scenario("nested", "SIGINT");
    assert.deepEqual(o.after, [
      "inner 2",
      "inner 1",
      "outer 2",
      "outer rollback",
      "outer 1",
    ]);
    assert.equal(o.signal, "SIGINT");
    assert.equal(o.stderr, "");
  });

  it("does the same on SIGTERM and ends as killed by SIGTERM", async () => {
    const o = await scenario("nested", "SIGTERM");
    assert.deepEqual(o.after, [
      "inner 2",
      "inner 1",
      "outer 2",
      "outer rollback",
      "outer 1",
    ]);
    assert.equal(o.signal, "SIGTERM");
  });

  it("ends with 128 + the signal's number as PID 1, where a signal sent to itself is dropped (a container without an init)", async () => {
    for (
      const [signal, status] of [["SIGTERM", 143], ["SIGINT", 130]] as const
    ) {
      const o = await scenario("nested", signal, [], asPid1);
      assert.deepEqual(o.after, [
        "inner 2",
        "inner 1",
        "outer 2",
        "outer rollback",
        "outer 1",
      ]);
      assert.deepEqual([o.code, o.signal], [status, null], o.stderr);
    }
  });

  it("as PID 1, still re-raises a signal the application listens to, whose listener then ends the process its way", async () => {
    const o = await scenario("app-process-listener", "SIGINT", [], asPid1);
    assert.ok(o.after.includes("cleanup ran"), o.after.join("\n"));
    assert.equal(o.after.filter((l) => l === "app saw SIGINT").length, 2);
    assert.equal(o.code, 7, o.stderr);
  });

  it("still ends as killed by the signal when the global object is frozen", async () => {
    const o = await scenario("frozen-global", "SIGTERM");
    assert.deepEqual(o.after, ["cleanup ran"]);
    assert.equal(o.signal, "SIGTERM", o.stderr);
  });

  it("leaves SIGHUP alone unless the policy lists it", async () => {
    const o = await scenario("nested", "SIGHUP");
    assert.deepEqual(o.after, []);
    assert.equal(o.signal, "SIGHUP");
  });

  it("cleans up on SIGHUP when the policy lists it", async () => {
    const o = await scenario("hup", "SIGHUP");
    assert.deepEqual(o.after, ["cleaned up after SIGHUP"]);
    assert.equal(o.signal, "SIGHUP");
  });

  it("awaits async cleanups one after the other before ending", async () => {
    const o = await scenario("async", "SIGINT");
    assert.deepEqual(o.after, [
      "flush start",
      "flush done",
      "close connection",
    ]);
    assert.equal(o.signal, "SIGINT");
  });

  it("runs every cleanup when some throw, prints each error in order and still ends as killed by the signal", async () => {
    const o = await scenario("throwing", "SIGTERM");
    assert.deepEqual(o.after, ["last cleanup"]);
    assert.match(o.stderr, /2 cleanup error\(s\) after SIGTERM/);
    const first = o.stderr.indexOf("Error: collector unreachable");
    const second = o.stderr.indexOf("Error: lock file busy");
    assert.ok(first > 0 && second > first, o.stderr);
    assert.equal(o.signal, "SIGTERM");
  });

  it("ends at the deadline, naming the running cleanup and those never started", async () => {
    const o = await scenario("deadline", "SIGINT");
    assert.deepEqual(o.after, ["drainQueue started"]);
    assert.match(o.stderr, /passed its 300 ms deadline/);
    assert.match(o.stderr, /still running: drainQueue\n/);
    assert.match(
      o.stderr,
      /never started \(2\): removeTempDir, closeDatabase/,
    );
    assert.equal(o.signal, "SIGINT");
    assert.ok(o.ms >= 290 && o.ms < 5_000, `ended after ${o.ms} ms`);
  });

  it("names every running member of a group at the deadline, and counts those never started", async () => {
    const o = await scenario("group-deadline", "SIGTERM");
    assert.deepEqual(o.after, ["closeSocket1 started", "closeSocket2 started"]);
    assert.match(o.stderr, /passed its 300 ms deadline/);
    assert.match(o.stderr, /still running: closeSocket1, closeSocket2\n/);
    assert.match(
      o.stderr,
      /never started \(2\): closeSocket3, closeDatabase/,
    );
    assert.equal(o.signal, "SIGTERM");
    assert.ok(o.ms >= 290 && o.ms < 5_000, `ended after ${o.ms} ms`);
  });

  it("ends at once on a second signal, naming what it skipped", async () => {
    const child = run(fixture, ["second"]);
    await child.waitFor("ready");
    child.kill("SIGINT");
    await child.waitFor("slowUpload started");
    child.kill("SIGINT");
    const o = await child.done;
    assert.deepEqual(o.after, ["slowUpload started"]);
    assert.match(o.stderr, /SIGINT during the exit cleanup after SIGINT/);
    assert.match(o.stderr, /still running: slowUpload\n/);
    assert.match(o.stderr, /skipped \(1\): releaseLock/);
    assert.equal(o.signal, "SIGINT");
    assert.ok(o.ms < 5_000, `ended after ${o.ms} ms`);
  });

  it("reports a leak-checked stack still open when a signal's cleanup ends the process", async () => {
    const o = await scenario("leak-at-signal", "SIGTERM");
    assert.deepEqual(o.after, ["exit cleanup ran"]);
    assert.equal(o.signal, "SIGTERM");
    assert.match(
      o.stderr,
      /^@cleanup\/defer: a DeferStack was still open when the process ended with 1 pending cleanup\(s\) that never ran\./,
    );
  });

  it("reports no leak when the application's own listener keeps the process alive after the signal and disposes the stack", async () => {
    const o = await scenario("leak-app-keeps-alive", "SIGTERM");
    assert.deepEqual(o.after, [
      "exit cleanup ran",
      "kept: cleaned up by the app",
    ]);
    assert.equal(o.code, 0);
    assert.doesNotMatch(o.stderr, /still open/);
  });

  it("reports a leak-checked stack of another copy of the package when a signal's cleanup ends the process", async () => {
    const o = await scenario("leak-other-copy", "SIGTERM");
    assert.deepEqual(o.after, ["exit cleanup ran"]);
    assert.equal(o.signal, "SIGTERM");
    assert.match(
      o.stderr,
      /a DeferStack was still open when the process ended with 1 pending/,
    );
  });

  it("reports a leak-checked stack still open at the end, and leaves the status alone", async () => {
    const o = await scenario("leak-at-exit");
    assert.equal(o.code, 0);
    assert.deepEqual(o.lines, ["disposed in time", "ready"]);
    const [first, ...trace] = o.stderr.trimEnd().split("\n");
    assert.match(
      first,
      /^@cleanup\/defer: a DeferStack was still open when the process ended with 2 pending cleanup\(s\) that never ran\./,
    );
    assert.match(trace[0] ?? "", /^ {4}at .*leak-at-exit|^ {4}at .*child\.ts/);
    assert.ok(trace.every((frame) => frame.startsWith("    at ")), o.stderr);
  });

  it("disposes open stacks at the natural end, awaiting async cleanups, status 0", async () => {
    const o = await scenario("natural");
    assert.deepEqual(o.after, [
      "work done",
      "async cleanup awaited",
      "sync cleanup",
    ]);
    assert.equal(o.code, 0);
    assert.equal(o.stderr, "");
  });

  it("keeps the loop alive at the natural end until the deadline names a cleanup waiting for something that cannot happen, status 1", async () => {
    const o = await scenario("stalled-deadline");
    assert.deepEqual(o.after, ["waitForever started"]);
    assert.match(o.stderr, /at the natural end passed its 300 ms deadline/);
    assert.match(o.stderr, /still running: waitForever\n/);
    assert.match(o.stderr, /never started \(1\): notReached/);
    assert.equal(o.code, 1);
    assert.ok(o.ms >= 290 && o.ms < 5_000, `ended after ${o.ms} ms`);
  });

  it("without a deadline, reports a cleanup at the natural end waiting for something that cannot happen as stalled, runs the rest, status 1", async () => {
    const o = await scenario("stalled");
    assert.deepEqual(o.after, ["waitForever started", "runsAfterTheStall"]);
    assert.match(o.stderr, /stalled/);
    assert.match(o.stderr, /still running: waitForever\n/);
    assert.equal(o.code, 1);
  });

  it("names the async cleanups a stall left no time to await as the stall's, not an exit's", async () => {
    const o = await scenario("stalled-async-rest");
    assert.deepEqual(o.after, ["waitForever started", "flushLater started"]);
    assert.match(
      o.stderr,
      /stalled exit cleanup's awaits; started, not awaited \(1\): flushLater/,
    );
    assert.doesNotMatch(o.stderr, /exit\(\) leaves no time/);
    assert.equal(o.code, 1);
  });

  it("cleans up after an uncaught exception, failure-only entries included, then lets the runtime report it", async () => {
    const o = await scenario("uncaught");
    assert.deepEqual(o.after, ["rollback after crash", "cleanup after crash"]);
    assert.match(o.stderr, /boom from a timer/);
    assert.equal(o.code, 1);
  });

  it("cleans up after an unhandled rejection, then lets the runtime report it", async () => {
    const o = await scenario("rejection");
    assert.deepEqual(o.after, ["cleanup after rejection"]);
    assert.match(o.stderr, /nobody caught this/);
    assert.equal(o.code, 1);
  });

  it("still reports a crash and ends when a cleanup throws a revoked proxy, naming that as a value it cannot show", async () => {
    const o = await scenario("revoked-crash");
    assert.deepEqual(o.after, ["older cleanup ran"]);
    assert.deepEqual(reportLines(o.stderr), [
      "Error: newest",
      "thrown: an object that throws when read",
    ]);
    assert.doesNotMatch(o.stderr, /stalled/);
    assert.match(o.stderr, /boom from a timer/);
    assert.equal(o.code, 1);
  });

  it("runs the members a group had not started when one of them exits during a signal's cleanup", async () => {
    const o = await scenario("group-exit", "SIGTERM");
    assert.deepEqual(o.after, [
      "group: exiting",
      "group: older member",
      "stack: older entry",
    ]);
    assert.equal(o.code, 3);
  });

  it("runs the members of a group nested among those not started when one of them exits during a signal's cleanup", async () => {
    const o = await scenario("nested-group-exit", "SIGTERM");
    assert.deepEqual(o.after, [
      "group: exiting",
      "group: member above the nested group",
      "innermost: member",
      "inner: member",
      "group: oldest member",
      "stack: older entry",
    ]);
    assert.equal(o.code, 3);
  });

  it("names the group member still running when the process exits during a signal's cleanup, and runs the one not started", async () => {
    const o = await scenario("group-timer-exit", "SIGTERM");
    assert.deepEqual(o.after, ["group: older member", "stack: older entry"]);
    assert.match(o.stderr, /still running: slowMember\n/);
    assert.equal(o.code, 7);
  });

  it("waits for a disposal the program started when a signal comes during it, and runs the entries it had not reached", async () => {
    const o = await scenario("disposing-signal", "SIGTERM");
    assert.deepEqual(
      o.after.filter((l) => l !== "disposed"),
      ["flush done", "remove temp dir", "app stack"],
    );
    assert.equal(o.signal, "SIGTERM");
  });

  it("disposes a stack that a cleanup binds while the exit cleanup waits for a disposal the program started", async () => {
    const o = await scenario("disposing-binds", "SIGTERM");
    // "disposed" comes when the program's own code runs, if before the end.
    assert.deepEqual(o.after.filter((l) => l !== "disposed"), [
      "flush done",
      "remove temp dir",
      // Stacks bound during the exit cleanup come after those it found.
      "app stack",
      "late stack",
    ]);
    assert.equal(o.signal, "SIGTERM");
  });

  it("names the entry a disposal the program started still awaits at the exit deadline, and the one it had not reached", async () => {
    const o = await scenario("disposing-deadline", "SIGTERM");
    assert.deepEqual(o.after, []);
    assert.match(o.stderr, /still running: flush\n/);
    assert.match(o.stderr, /never started \(2\): removeTempDir, appStack/);
    assert.equal(o.signal, "SIGTERM");
  });

  it("runs the rest of a disposal the program started when the program exits during it, naming the entry not awaited", async () => {
    const o = await scenario("disposing-exit");
    assert.deepEqual(o.after, ["remove temp dir"]);
    assert.match(o.stderr, /started, not awaited \(1\): flush/);
    assert.deepEqual(reportLines(o.stderr), ["Error: lock file busy"]);
    assert.equal(o.code, 5);
  });

  it("runs the rest of a disposal the program started when the event loop runs dry during it, reported as stalled", async () => {
    const o = await scenario("disposing-stall");
    assert.deepEqual(o.after, ["remove temp dir"]);
    assert.match(o.stderr, /stalled/);
    assert.match(o.stderr, /still running: flush\n/);
    assert.equal(o.code, 1);
  });

  it("runs each entry of a stalled disposal once when the entries run for it settle what it awaited", async () => {
    const o = await scenario("disposing-stall-resume");
    assert.deepEqual(
      o.after.filter((l) => l !== "disposed"),
      ["remove temp dir", "older entry"],
    );
    assert.equal(o.code, 1);
  });

  it("waits for a disposal the program started when the process crashes during it, then reports the crash", async () => {
    const o = await scenario("disposing-crash");
    assert.deepEqual(
      o.after.filter((l) => l !== "disposed"),
      ["flush done", "remove temp dir"],
    );
    assert.match(o.stderr, /boom during disposal/);
    assert.equal(o.code, 1);
  });

  it("runs the members a group had not started when the program exits while its own disposal awaits the group", async () => {
    const o = await scenario("disposing-group-exit");
    assert.deepEqual(o.after, ["member b", "member a", "older entry"]);
    assert.match(o.stderr, /started, not awaited \(1\): memberC/);
    assert.equal(o.code, 3);
  });

  it("lets a newer stack the program is disposing finish before disposing an older open one", async () => {
    const o = await scenario("disposing-order", "SIGTERM");
    assert.deepEqual(o.after.filter((l) => l !== "disposed"), [
      "newer: flush done",
      "newer: write final record",
      "older: close db",
    ]);
    assert.equal(o.signal, "SIGTERM");
  });

  it("still reports a crash that came while the program awaited its disposal, which then failed", async () => {
    // It awaits its disposal, so it never gets to print "ready".
    const o = await run(fixture, ["disposing-crash-fails"]).done;
    assert.deepEqual(o.lines, ["remove temp dir"]);
    assert.match(o.stderr, /boom during disposal/);
    assert.match(o.stderr, /flush failed/);
    assert.equal(o.code, 1);
  });

  it("leaves a signal to the application's own handler (added with once) when that handler is what disposes the last stack", async () => {
    const o = await scenario("disposing-app-handler", "SIGINT");
    assert.deepEqual(o.after, ["flush done"]);
    assert.equal(o.stderr, ""); // no exit cleanup of ours, cut short or not
    assert.equal(o.code, 0);
  });

  it("leaves a signal to a listener that ends the process only when it is the last, once no stack is open", async () => {
    const o = await scenario("disposing-last-listener", "SIGTERM");
    assert.deepEqual(o.after, ["last listener: ending"]);
    assert.equal(o.code, 9);
  });

  it("reports the DisposeTimeoutError of a disposal the program left unhandled while the exit cleanup waited for it", async () => {
    const o = await scenario("disposing-own-timeout", "SIGTERM");
    assert.deepEqual(o.after, ["app stack"]);
    assert.match(
      o.stderr,
      /stopped waiting after 100 ms: "flush" was still running; 1 never started: "removeTempDir"/,
    );
    assert.equal(o.signal, "SIGTERM");
  });

  it("runs the entries below a cleanup that exits from inside the program's own dispose()", async () => {
    const o = await scenario("disposing-sync-exit");
    assert.deepEqual(o.after, ["exiting", "remove temp dir"]);
    assert.equal(o.code, 4);
  });

  it("runs the members a group disposed early had not started when the process exits, then its stack's entries", async () => {
    const o = await scenario("group-early-exit");
    assert.deepEqual(o.after, ["group: older member", "stack: older entry"]);
    assert.match(o.stderr, /not awaited \(1\): slowMember/);
    assert.equal(o.code, 7);
  });

  it("runs the members not started of a group disposed early with its own deadline when the process exits", async () => {
    const o = await scenario("group-early-deadline-exit");
    assert.deepEqual(o.after, ["group: older member", "stack: older entry"]);
    assert.match(o.stderr, /not awaited \(1\): slowMember/);
    assert.equal(o.code, 7);
  });

  it("runs the members below one that exits while the program disposes the group with dispose()", async () => {
    const o = await scenario("group-early-sync-exit");
    assert.deepEqual(o.after, [
      "group: exiting",
      "group: older member",
      "stack: older entry",
    ]);
    assert.equal(o.code, 4);
  });

  it("runs the members below one that exits while the stack's own dispose() runs the group", async () => {
    const o = await scenario("disposing-sync-group-exit");
    assert.deepEqual(o.after, [
      "group: exiting",
      "group: older member",
      "stack: older entry",
    ]);
    assert.equal(o.code, 4);
  });

  it("waits on a signal for a group the program is disposing, then disposes its stack", async () => {
    const o = await scenario("group-early-signal", "SIGTERM");
    assert.deepEqual(o.after, [
      "group: slow member done",
      "group: older member",
      "stack: older entry",
    ]);
    assert.equal(o.signal, "SIGTERM");
    assert.equal(o.stderr, "");
  });

  it("takes the status a cleanup of the exit gives exit() as the runtime does", async () => {
    const o = await scenario("exit-twice-odd-status");
    assert.deepEqual(o.after, ["exits with 1.5", "older"]);
    if (runtime === "deno") {
      assert.equal(o.code, 1);
      assert.equal(o.stderr, "");
    } else {
      assert.equal(o.code, 3);
      assert.deepEqual(reportLines(o.stderr).map((l) => l.split(":")[0]), [
        "RangeError",
      ]);
    }
  });

  it("lets process.exit(undefined) in a cleanup of the exit keep or clear the status as the runtime does", async () => {
    const o = await scenario("exit-twice-undefined");
    if (runtime === "deno") {
      // Deno's process.exit() emits its "exit" event, then Deno.exit().
      assert.deepEqual(o.after, [
        "process.exit(undefined)",
        "app exit listener 3",
        "older",
      ]);
      assert.equal(o.code, 3);
    } else {
      // A second process.exit() ends at once: no second "exit" event.
      assert.deepEqual(o.after, ["process.exit(undefined)", "older"]);
      // Node sets the status to undefined; Bun keeps it.
      assert.equal(o.code, runtime === "node" ? 0 : 3);
    }
  });

  it("runs the rest when a cleanup of the exit exits from an event listener, and not its code after the dispatch", async () => {
    const o = await scenario("exit-twice-listener");
    assert.deepEqual(o.after, ["older"]);
    assert.equal(o.stderr, "");
    assert.equal(o.code, 6);
  });

  it("lists once an error that a group disposed early and the cleanup awaiting it both failed with", async () => {
    const o = await scenario("group-awaited-by-cleanup", "SIGTERM");
    assert.deepEqual(o.after, ["other stack"]);
    assert.deepEqual(reportLines(o.stderr).sort(), [
      "Error: member failed",
      "Error: older entry failed",
    ]);
    assert.equal(o.signal, "SIGTERM");
  });

  it("counts every stack open or being disposed when the exit began, even one whose disposal ended on its own", async () => {
    const o = await scenario("group-awaited-by-cleanup-counted");
    assert.deepEqual(o.after.slice(0, 2), ["older stack done", "other stack"]);
    const line = o.after.find((l) => l.startsWith("report "));
    assert.deepEqual(JSON.parse((line as string).slice(7)), { stacks: 3 });
    assert.equal(o.code, 1);
  });

  it("does not name a group member that exits from its synchronous part as not awaited", async () => {
    const o = await scenario("group-member-sync-exit");
    assert.deepEqual(o.after, [
      "group: exiting",
      "group: older member",
      "stack: older entry",
    ]);
    assert.equal(o.stderr, "");
    assert.equal(o.code, 5);
  });

  it("does not name a Symbol.dispose fallback that has finished as not awaited", async () => {
    const o = await scenario("fallback-then-exit");
    assert.deepEqual(o.after, ["fallback ran", "older"]);
    assert.equal(o.stderr, "");
    assert.equal(o.code, 5);
  });

  it("does not name an entry that exits from its synchronous part in a large stack", async () => {
    const o = await scenario("chunks-sync-exit");
    assert.deepEqual(o.after, ["newest", "exiting"]);
    assert.equal(o.stderr, "");
    assert.equal(o.code, 5);
  });

  it("runs the members of a group whose early disposal a cleanup of the exit starts", async () => {
    const o = await scenario("exit-starts-group");
    assert.deepEqual(o.after, [
      "group: newest member started",
      "group: older member",
      "d: older entry",
    ]);
    assert.match(o.stderr, /not awaited \(1\): newestMember/);
    assert.equal(o.code, 3);
  });

  it("runs the members of a nested group when one of them exits again", async () => {
    const o = await scenario("exit-twice-nested-group");
    assert.deepEqual(o.after, [
      "h: newest member",
      "h: exits again",
      "h: oldest member",
      "g: oldest member",
      "d: oldest",
    ]);
    assert.equal(o.code, 6);
  });

  it("reports once when the report function exits after a cleanup exited again", async () => {
    const o = await scenario("exit-twice-report-exits");
    assert.deepEqual(o.after, ["oldest", "report 1"]);
    assert.equal(o.code, 2);
  });

  it("ends with the first status when a thousand cleanups of the exit each exit again", async () => {
    const o = await scenario("exit-many-times");
    assert.equal(o.code, 14);
  });

  it("names the member left running, not the one that exits, when a group member exits during a signal's cleanup", async () => {
    const o = await scenario("group-member-exit-signal", "SIGTERM");
    assert.deepEqual(o.after, [
      "g: exiting",
      "g: older member",
      "d: older entry",
    ]);
    assert.match(o.stderr, /still running: stillRunning$/m);
    assert.equal(o.code, 4);
  });

  it("does not name a cleanup that exits from its synchronous part as not awaited", async () => {
    const o = await scenario("disposing-async-sync-exit");
    assert.deepEqual(o.after, ["exiting", "asyncOlder started", "older"]);
    assert.match(o.stderr, /started, not awaited \(1\): asyncOlder$/m);
    assert.equal(o.code, 3);
  });

  it("runs the entries a stack used by an exit-bound one has not started when an exit cuts its disposeAsync() short", async () => {
    const o = await scenario("plain-inside-async-exit");
    assert.deepEqual(o.after, [
      "db: flush started",
      "db: close",
      "app: oldest",
    ]);
    assert.match(o.stderr, /started, not awaited \(2\): flush, DeferStack$/m);
    assert.equal(o.code, 3);
  });

  for (const bound of [false, true]) {
    it(
      `runs the rest of ${
        bound ? "an older exit-bound" : "a"
      } stack that a signal's cleanup disposes through another before the other's rest, when an exit cuts it short`,
      async () => {
        const o = await scenario(
          bound ? "inside-signal-exit-bound" : "inside-signal-exit",
          "SIGTERM",
        );
        assert.deepEqual(o.after, [
          "db: flush started",
          "db: close",
          "app: oldest",
        ]);
        assert.match(o.stderr, /still running: flush, DeferStack$/m);
        assert.equal(o.code, 3);
      },
    );
  }

  for (const moved of [false, true]) {
    it(
      `waits on a signal for an entry run early through its handle before running the older entries${
        moved ? ", on a stack released and moved" : ""
      }`,
      async () => {
        const o = await scenario(
          moved ? "early-run-moved" : "early-run-signal",
          "SIGTERM",
        );
        assert.deepEqual(o.after, [
          "rolled back",
          "early run done",
          "pool closed",
        ]);
        assert.equal(o.stderr, "");
        assert.equal(o.signal, "SIGTERM");
      },
    );
  }

  it("waits on a signal for an entry run early through its handle while its stack is being disposed", async () => {
    const o = await scenario("early-run-disposing", "SIGTERM");
    assert.deepEqual(o.after, ["rolled back", "early run done", "app: oldest"]);
    assert.equal(o.signal, "SIGTERM");
  });

  it("names an entry run early through its handle as not awaited at an exit", async () => {
    const o = await scenario("early-run-exit");
    assert.deepEqual(o.after, ["pool closed"]);
    assert.match(o.stderr, /started, not awaited \(1\): rollbackTx$/m);
    assert.equal(o.code, 3);
  });

  it("names in the report the cleanup each error came from, and the errors it was caused by", async () => {
    const o = await scenario("named-errors", "SIGTERM");
    assert.deepEqual(reportLines(o.stderr), [
      "Error: its own cause",
      "Error: member failed",
      "Error: flush failed",
      "Error: anonymous failed",
      "TypeError: fetch failed",
      "Error: pool close failed",
    ]);
    assert.match(o.stderr, /^ {2}Error: member failed \(in memberA, at /m);
    assert.match(o.stderr, /^ {2}Error: its own cause \(in memberB, at /m);
    assert.equal(o.stderr.split("caused by: Error: its own cause").length, 1);
    assert.match(o.stderr, /^ {2}Error: flush failed \(in flushDb, at /m);
    assert.match(o.stderr, /^ {2}Error: anonymous failed \(at /m);
    assert.match(
      o.stderr,
      /^ {2}TypeError: fetch failed \(in notifyPeers, at /m,
    );
    assert.match(
      o.stderr,
      /fetch failed.*\n {4}caused by: Error: connect ECONNREFUSED 127\.0\.0\.1:1 \(at /,
    );
    assert.match(
      o.stderr,
      /pool close failed.*\n {4}caused by: Error: socket hang up \(at .*\n {4}caused by: thrown: ECONNRESET$/m,
    );
    assert.equal(o.signal, "SIGTERM");
  });

  describe("with two copies of the package in the process", () => {
    // The fixture copies the package to a temporary directory.
    const flags = isDeno
      ? ["--allow-read", "--allow-write", "--allow-env"]
      : [];

    it("lets both finish their cleanup on a signal, the last one ending the process", async () => {
      const o = await scenario("two-copies", "SIGTERM", flags);
      assert.deepEqual(o.after, ["first copy: done", "second copy: done"]);
      assert.equal(o.stderr, "");
      assert.equal(o.signal, "SIGTERM");
    });

    it("cleans up both at once on a crash and reports it once, status 1", async () => {
      const o = await scenario("two-copies-crash", undefined, flags);
      // The second copy's shorter cleanup ends first: they ran together.
      assert.deepEqual(o.lines, [
        "ready",
        "second copy: done",
        "first copy: done",
      ]);
      assert.equal(o.stderr.split("crash with two copies").length - 1, 1);
      assert.equal(o.code, 1);
    });

    it("leaves a crash to the application's listener added between the copies'", async () => {
      const o = await scenario("two-copies-app-crash", undefined, flags);
      assert.deepEqual(o.after.slice(0, 2), [
        "app handles: crash the app handles",
        "still alive",
      ]);
      // At the natural end, each copy its own stacks.
      assert.deepEqual(o.after.slice(2).sort(), [
        "first copy: done",
        "second copy: done",
      ]);
      assert.equal(o.code, 0);
    });

    it("ends the process at the natural end when one copy's cleanup passed its deadline", async () => {
      const o = await scenario("two-copies-natural-cut", undefined, flags);
      assert.deepEqual(o.after, ["second copy: done"]);
      assert.match(o.stderr, /passed its 100 ms deadline/);
      assert.equal(o.code, 1);
    });

    it("keeps the status one copy's policy sets after a signal, whichever finishes last", async () => {
      const o = await scenario("two-copies-exit-code", "SIGTERM", flags);
      assert.deepEqual(o.after, ["first copy: done", "second copy: done"]);
      assert.equal(o.code, 7);
    });
  });

  it("waits on a signal for every one of a hundred disposals under way, some of them ended", async () => {
    const o = await scenario("many-disposals", "SIGTERM");
    const done = o.lines.filter((l) => l !== "ready");
    assert.deepEqual(done, [
      ...Array.from({ length: 100 }, (_, i) => `done ${i}`),
      "app",
    ]);
    assert.equal(o.stderr, "");
    assert.equal(o.signal, "SIGTERM");
  });

  it("lets what the cleanups and the report printed reach a reader that is behind before the signal ends the process", async () => {
    const child = run(fixture, ["signal-output"]);
    await child.waitFor("ready");
    child.holdOutput(500);
    child.kill("SIGTERM");
    const o = await child.done;
    assert.equal(o.after.length, 2001);
    assert.equal(o.after.at(-1), "last line");
    assert.deepEqual(reportLines(o.stderr), ["Error: cleanup failed"]);
    assert.equal(o.signal, "SIGTERM");
  });

  it("runs the newer stack's rest first when exit() cuts a signal's cleanup short while the program disposes an older one", async () => {
    const o = await scenario("signal-exit-older-disposal", "SIGTERM");
    assert.deepEqual(o.after, ["app: rest", "inner: rest", "old: rest"]);
    assert.equal(o.code, 3);
  });

  it("names the entries of a stack used by an exit-bound one when a signal's deadline cuts its disposal short", async () => {
    const o = await scenario("plain-inside-deadline", "SIGTERM");
    assert.deepEqual(o.after, ["db: flush started"]);
    assert.match(o.stderr, /still running: DeferStack, flush$/m);
    assert.match(o.stderr, /never started \(2\): appOldest, dbClose$/m);
    assert.equal(o.signal, "SIGTERM");
  });

  it("runs the entries a stack has not started when an exit cuts it short as a member of an exit-bound stack's group", async () => {
    const o = await scenario("plain-inside-group-exit");
    assert.deepEqual(o.after, [
      "g: first member",
      "db: flush started",
      "db: close",
      "app: oldest",
    ]);
    assert.match(o.stderr, /started, not awaited \(2\): flush, DeferStack$/m);
    assert.equal(o.code, 3);
  });

  it("runs the entries of stacks nested in an exit-bound one's dispose(), innermost first, when an entry of the innermost exits", async () => {
    const o = await scenario("plain-inside-sync-exit");
    assert.deepEqual(o.after, [
      "b: exits",
      "b: oldest",
      "a: oldest",
      "app: oldest",
    ]);
    assert.deepEqual(reportLines(o.stderr), [
      "Error: b failed",
      "Error: a failed",
    ]);
    assert.equal(o.code, 4);
  });

  it("runs the other entries of a stack the exit disposes when one of them exits again", async () => {
    const o = await scenario("plain-inside-exit-twice");
    assert.deepEqual(o.after, [
      "app: newest",
      "db: exits again",
      "db: close",
      "app: oldest",
    ]);
    assert.equal(o.stderr, "");
    assert.equal(o.code, 5);
  });

  it("runs the cleanups after one that exits again during the exit, and not its own code after the call, with the status it asked for first", async () => {
    const o = await scenario("exit-twice");
    assert.deepEqual(o.after, [
      "newest",
      "exits again",
      "exits a third time",
      "oldest",
      "older stack",
    ]);
    assert.equal(o.code, 6);
  });

  it("reports the failures of an exit's cleanups, not a cleanup's own exit", async () => {
    const o = await scenario("exit-twice");
    assert.deepEqual(reportLines(o.stderr), ["Error: boom"]);
    assert.doesNotMatch(o.stderr, /called by a cleanup/);
  });

  it("holds an exit taken from node:process beforehand when a cleanup of a signal's cleanup exits twice", async () => {
    const o = await scenario("exit-twice-signal", "SIGTERM");
    assert.deepEqual(o.after, [
      "exit(5)",
      "between",
      "process.exit(6)",
      "oldest",
    ]);
    assert.equal(o.signal, null);
    assert.equal(o.code, 6);
  });

  it("says a chain that never ends is not listed, and ends with status 1", async () => {
    const o = await scenario("endless-chain");
    assert.match(o.stderr, /one that never ends; the rest of it is not listed/);
    assert.equal(o.code, 1);
  });

  it("lists each error of a chain that reaches a link twice once", async () => {
    const o = await scenario("shared-link");
    assert.deepEqual(reportLines(o.stderr), ["Error: y", "Error: x"]);
    assert.equal(o.code, 1);
  });

  it("reports the start of a chain deeper than the call stack, and ends with status 1 at the natural end", async () => {
    const o = await scenario("deep-chain");
    assert.deepEqual(o.after, ["older cleanup ran"]);
    const listed = reportLines(o.stderr);
    assert.equal(listed.length, 1_000);
    assert.equal(listed[0], "Error: older 19999");
    assert.match(o.stderr, /the rest of it is not listed/);
    assert.equal(o.code, 1);
  });

  it("reports a chain deeper than the call stack after a signal, and ends as killed by it", async () => {
    const o = await scenario("deep-chain-signal", "SIGTERM");
    assert.deepEqual(o.after, ["older cleanup ran"]);
    assert.match(o.stderr, /the rest of it is not listed/);
    assert.equal(o.signal, "SIGTERM");
  });

  it("reports a DisposeTimeoutError a cleanup passed on as a cleanup error, status 1", async () => {
    const o = await scenario("rethrown-timeout");
    assert.deepEqual(reportLines(o.stderr), [
      'DisposeTimeoutError: DeferStack.disposeAsync() stopped waiting after 5 ms: "hangs" was still running; 0 never started',
    ]);
    assert.equal(o.code, 1);
  });

  it("reports the errors of a chain a cleanup threw in the order they were thrown", async () => {
    const o = await scenario("chain-exit");
    assert.deepEqual(reportLines(o.stderr), [
      "Error: outer first",
      "Error: inner first",
      "Error: inner second",
    ]);
    assert.equal(o.code, 3);
  });

  it("runs the synchronous cleanups at process.exit() and names the async one it cannot await", async () => {
    const o = await scenario("exit");
    assert.deepEqual(o.after, ["sync 2", "flushAsync started", "sync 1"]);
    assert.match(o.stderr, /not awaited \(1\): flushAsync/);
    assert.equal(o.code, 3);
  });

  it("leaves no listener once every exit-bound stack is disposed: the process ends on its own", async () => {
    const o = await scenario("unbound");
    assert.deepEqual(o.lines, ["disposed normally", "ready", "idle"]);
    assert.equal(o.code, 0);
  });

  it("leaves no listener once every exit-bound stack is disposed: a signal kills it the default way", async () => {
    const o = await scenario("unbound-signal", "SIGINT");
    assert.deepEqual(o.after, []);
    assert.equal(o.signal, "SIGINT");
  });

  it("carries the binding to the stack move() returns, in the old stack's place", async () => {
    const o = await scenario("moved", "SIGINT");
    assert.deepEqual(o.after, [
      "newest",
      "added to the new owner",
      "moved entry",
      "older",
    ]);
    assert.equal(o.signal, "SIGINT");
  });

  it("keeps the binding after release(): what was added afterwards runs", async () => {
    const o = await scenario("released", "SIGTERM");
    assert.deepEqual(o.after, ["added after release"]);
    assert.equal(o.signal, "SIGTERM");
  });

  it("cleans up alongside the application's own signal listener, which sees the signal again at the re-raise and ends the process its way", async () => {
    const o = await scenario("app-listener", "SIGINT");
    assert.ok(o.after.includes("cleanup ran"), o.after.join("\n"));
    const seen = o.after.filter((l) => l === "app saw SIGINT").length;
    assert.equal(seen, 2);
    assert.equal(o.code, 7);
  });

  it("ends by the signal when a library re-raises it only as the last listener (signal-exit), after both ran", async () => {
    const o = await scenario("signal-exit-like", "SIGTERM");
    assert.deepEqual(o.after, [
      "flush done",
      "cleanup ran",
      "library hook ran",
    ]);
    assert.equal(o.signal, "SIGTERM");
    assert.ok(o.ms < 5_000, `ended after ${o.ms} ms`);
  });

  it("names every entry never started when a signal's deadline stops a stack of 200,000", async () => {
    const o = await scenario("deadline-large", "SIGTERM");
    assert.deepEqual(o.after, [
      "running: never",
      "never started: 199999",
    ]);
    assert.equal(o.signal, "SIGTERM");
  });

  it("ends by the signal when the library re-raises it after the cleanup stopped what kept the event loop alive", async () => {
    const o = await scenario("signal-exit-like-loop-ends", "SIGTERM");
    assert.deepEqual(o.after, [
      "flush done",
      "polling stopped",
      "library hook ran",
    ]);
    assert.equal(o.signal, "SIGTERM");
    assert.ok(o.ms < 5_000, `ended after ${o.ms} ms`);
  });

  it("awaits the cleanups after an unhandled rejection when the newest one stopped what kept the event loop alive", async () => {
    const o = await scenario("rejection-last-handle");
    assert.deepEqual(o.after, ["drained", "oldest"]);
    assert.match(o.stderr, /database gone/);
    assert.doesNotMatch(o.stderr, /stalled|not awaited/);
    assert.equal(o.code, 1);
  });

  it("still reports the crash, status 1, when a cleanup after it calls exit(0)", async () => {
    const o = await scenario("crash-exit0");
    assert.deepEqual(o.after, ["closeServer: exit(0)"]);
    assert.match(o.stderr, /the original crash\n\s+at .*child\.ts/);
    assert.equal(o.code, 1);
  });

  it("still prints the runtime's report of the crash with report: false when a cleanup calls exit(0)", async () => {
    const o = await scenario("crash-exit0-silent");
    assert.match(o.stderr, /the original crash\n\s+at .*child\.ts/);
    assert.doesNotMatch(o.stderr, /@cleanup\/defer/);
    assert.equal(o.code, 1);
  });

  it("keeps the status of an exit called by a cleanup at the natural end, and still runs the older synchronous cleanups", async () => {
    const o = await scenario("natural-exit0");
    assert.deepEqual(o.after, ["closeServer: exit(0)", "older sync cleanup"]);
    assert.doesNotMatch(o.stderr, /stalled/);
    assert.equal(o.code, 0);
  });

  it("runs every entry not started yet, newest stack first, when a cleanup exits during a signal's cleanup", async () => {
    const o = await scenario("exit-in-cleanup", "SIGTERM");
    assert.deepEqual(o.after, [
      "newest async done",
      "callsExit",
      "notAwaitedAsync started",
      "first registered",
      "olderAsync started",
      "older sync",
    ]);
    assert.match(
      o.stderr,
      /not awaited \(2\): notAwaitedAsync, olderAsync/,
    );
    assert.match(o.stderr, /still running: none\n/);
    assert.doesNotMatch(o.stderr, /skipped/);
    assert.equal(o.code, 5);
  });

  it("lets the natural end's cleanup finish on a first signal, then ends as killed by it", async () => {
    const child = run(fixture, ["natural-signal"]);
    await child.waitFor("flush started");
    child.kill("SIGINT");
    const o = await child.done;
    assert.deepEqual(o.after, [
      "flush started",
      "flush done",
      "removeLock ran",
    ]);
    assert.equal(o.signal, "SIGINT");
    assert.equal(o.stderr, "");
  });

  it("lets a crash's cleanup finish on a first signal, prints the crash, then ends as killed by the signal", async () => {
    const child = run(fixture, ["crash-signal"]);
    await child.waitFor("flush started");
    child.kill("SIGINT");
    const o = await child.done;
    assert.deepEqual(o.after, [
      "flush started",
      "flush done",
      "removeLock ran",
    ]);
    assert.match(o.stderr, /the crash before the signal/);
    assert.equal(o.signal, "SIGINT");
  });

  it("ends a crash's cleanup at once on a second signal, as killed by it, naming what it skipped and printing the crash", async () => {
    const child = run(fixture, ["crash-two-signals"]);
    await child.waitFor("waitForever started");
    child.kill("SIGINT");
    await new Promise((resolve) => setTimeout(resolve, 200));
    child.kill("SIGTERM");
    const o = await child.done;
    assert.deepEqual(o.after, ["waitForever started"]);
    assert.match(
      o.stderr,
      /SIGTERM during the exit cleanup after an uncaught exception: ending now/,
    );
    assert.match(o.stderr, /still running: waitForever\n/);
    assert.match(o.stderr, /skipped \(1\): removeLock/);
    assert.match(o.stderr, /the crash before the signals/);
    assert.equal(o.signal, "SIGTERM");
    assert.ok(o.ms < 5_000, `ended after ${o.ms} ms`);
  });

  it("keeps a status set before the natural end when a cleanup throws", async () => {
    const o = await scenario("keep-exit-code");
    assert.match(o.stderr, /Error: cleanup failed/);
    assert.equal(o.code, 7);
  });

  it("does not report an exit-bound stack as leaked at exit(): the exit machinery disposes it", async () => {
    const o = await scenario("leak-exit-bound");
    assert.deepEqual(o.after, ["exit cleanup ran"]);
    assert.equal(o.stderr, "");
    assert.equal(o.code, 0);
  });

  it("reports a rejection in the last task as a crash, once, status 1", async () => {
    const o = await scenario("late-rejection");
    assert.deepEqual(o.after, ["cleanup ran"]);
    assert.equal(o.code, 1);
    assert.equal(
      o.stderr.match(/RangeError: late rejection/g)?.length,
      1,
      o.stderr,
    );
    assert.doesNotMatch(o.stderr, /cleanup error/);
  });

  // Node's and Bun's flag; Deno has no such mode.
  if (runtime !== "deno") {
    it("reports a crash once under --unhandled-rejections=strict", async () => {
      const o = await scenario("late-rejection", undefined, [
        "--unhandled-rejections=strict",
      ]);
      assert.deepEqual(o.after, ["cleanup ran"]);
      assert.equal(o.code, 1);
      assert.doesNotMatch(o.stderr, /cleanup error/);
      assert.match(o.stderr, /late rejection/);
    });

    it("leaves an unhandled rejection alone under --unhandled-rejections=warn", async () => {
      const o = await scenario("rejection-warn", undefined, [
        "--unhandled-rejections=warn",
      ]);
      assert.deepEqual(o.after, [
        "alive, stack open: true",
        "cleanup: must not run before the end",
      ]);
      assert.equal(o.code, 0);
    });
  }

  // Deno's error events; Node and Bun count their listeners instead.
  if (runtime === "deno") {
    it(
      "lets an error listener the application added after binding own the crash (Deno)",
      async () => {
        const o = await scenario("app-error-after");
        assert.deepEqual(o.after, leftOpen("app handled the error"));
        assert.equal(o.code, 0);
      },
    );
  }

  for (
    const [name, listener] of [
      ["app-once-exception", "process.once('uncaughtException')"],
      ["app-once-rejection", "process.once('unhandledRejection')"],
      ["app-on-rejection", "process.on('unhandledRejection')"],
    ]
  ) {
    it(`lets the application's ${listener}, added before binding, own the crash`, async () => {
      const o = await scenario(name);
      assert.deepEqual(o.after, leftOpen("app handled: boom"));
      assert.equal(o.code, 0, o.stderr);
    });
  }

  it("leaves an unhandled rejection to the application's uncaughtException listener where the runtime gives it one (Node, Deno; Bun crashes)", async () => {
    const o = await scenario("app-exception-gets-rejection");
    if (runtime === "bun") {
      assert.deepEqual(o.after, ["cleanup ran"]);
      assert.equal(o.code, 1);
      return;
    }
    assert.deepEqual(o.after, leftOpen("app handled: boom"));
    assert.equal(o.code, 0, o.stderr);
  });

  it("gives that listener a reason that is not an error wrapped as the runtime wraps it, after the monitors (Node, Deno)", async () => {
    const o = await scenario("app-exception-gets-reason");
    if (runtime === "bun") {
      assert.deepEqual(o.after, ["cleanup ran"]);
      assert.equal(o.code, 1);
      return;
    }
    assert.deepEqual(
      o.after,
      leftOpen(
        "monitor: unhandledRejection",
        "app handled: UnhandledPromiseRejection ERR_UNHANDLED_REJECTION unhandledRejection",
      ),
    );
    assert.equal(o.code, 0, o.stderr);
  });

  it("ends as the runtime does when that listener throws (Node 7, Deno 1; Bun hands it nothing)", async () => {
    const o = await scenario("app-exception-throws");
    assert.deepEqual(o.after, ["cleanup ran"]);
    assert.equal(o.code, runtime === "node" ? 7 : 1, o.stderr);
    if (runtime !== "bun") assert.match(o.stderr, /listener threw/);
  });

  it("lets an uncaughtExceptionMonitor see an unhandled rejection (Node: before the cleanup; Deno: at the rethrow after it)", async () => {
    const o = await scenario("monitor-only");
    const monitor = "monitor: unhandledRejection";
    assert.deepEqual(
      o.after,
      runtime === "bun"
        ? ["cleanup ran"]
        : runtime === "deno"
        ? ["cleanup ran", monitor]
        : [monitor, "cleanup ran"],
    );
    assert.equal(o.code, 1);
  });

  it("lists a rejection during a signal's cleanup once when the application listens for exceptions", async () => {
    const o = await scenario("app-exception-rejection-in-cleanup", "SIGTERM");
    assert.ok(o.after.includes("cleanup done"), o.after.join("\n"));
    assert.match(o.stderr, /1 cleanup error\(s\) after SIGTERM/);
    assert.equal(o.signal, "SIGTERM");
  });

  if (runtime === "node") {
    it("gives the wrapped reason to that listener under --unhandled-rejections=strict, and stays alive", async () => {
      const o = await scenario("app-exception-gets-reason", undefined, [
        "--unhandled-rejections=strict",
      ]);
      assert.deepEqual(
        o.after,
        leftOpen(
          "monitor: unhandledRejection",
          "app handled: UnhandledPromiseRejection ERR_UNHANDLED_REJECTION unhandledRejection",
        ),
      );
      assert.equal(o.code, 0, o.stderr);
    });

    it("leaves a rejection to a capture callback under --unhandled-rejections=strict", async () => {
      const o = await scenario("capture-callback", undefined, [
        "--unhandled-rejections=strict",
      ]);
      assert.deepEqual(o.after, leftOpen("captured: boom"));
      assert.equal(o.code, 0, o.stderr);
    });

    it("lists a rejection during a signal's cleanup once under --unhandled-rejections=strict too", async () => {
      const o = await scenario(
        "app-exception-rejection-in-cleanup",
        "SIGTERM",
        ["--unhandled-rejections=strict"],
      );
      assert.ok(o.after.includes("cleanup done"), o.after.join("\n"));
      assert.match(o.stderr, /1 cleanup error\(s\) after SIGTERM/);
    });

    it("reads a quoted --unhandled-rejections in NODE_OPTIONS as Node does", async () => {
      for (
        const options of [
          '--unhandled-rejections="strict"',
          '"--unhandled-rejections=strict"',
        ]
      ) {
        const o = await scenario("capture-callback", undefined, [], [], {
          NODE_OPTIONS: options,
        });
        // Strict: the capture callback takes the exception raised for it.
        assert.deepEqual(o.after, leftOpen("captured: boom"), options);
        assert.equal(o.code, 0, o.stderr);
      }
    });

    it("still crashes on a rejection when NODE_OPTIONS was changed after start", async () => {
      const o = await scenario("node-options-changed");
      assert.deepEqual(o.after, ["cleanup ran"]);
      assert.equal(o.code, 1);
      assert.match(o.stderr, /boom/);
    });

    it("leaves it to a once listener under --unhandled-rejections=strict, gone by the time the rejection follows", async () => {
      const o = await scenario("app-once-exception-gets-rejection", undefined, [
        "--unhandled-rejections=strict",
      ]);
      assert.deepEqual(o.after, leftOpen("app handled: boom"));
      assert.equal(o.code, 0, o.stderr);
    });

    it("leaves it to that listener under --unhandled-rejections=strict too, which gives it the rejection once", async () => {
      const o = await scenario("app-exception-gets-rejection", undefined, [
        "--unhandled-rejections=strict",
      ]);
      assert.deepEqual(o.after, leftOpen("app handled: boom"));
      assert.equal(o.code, 0, o.stderr);
    });
  }

  it("reports a rejection the application's listener throws on as the crash alone, not also as a cleanup error", async () => {
    const o = await scenario("app-rethrows-rejection");
    assert.deepEqual(o.after, ["cleanup ran"]);
    assert.equal(o.code, 1);
    assert.match(o.stderr, /nope/);
    assert.doesNotMatch(o.stderr, /cleanup error/);
  });

  it("reports an uncaught exception at the user's throw, not at a rethrow of ours", async () => {
    const o = await scenario("uncaught");
    assert.match(o.stderr, /boom from a timer/);
    assert.doesNotMatch(o.stderr, /exit_runtime/);
    assert.match(o.stderr, /child\.ts/);
  });

  // Deno loads a worker's script with the read permission.
  const workerFlags = runtime === "deno" ? ["--allow-read"] : [];

  it("throws a clear TypeError at defer({ exit: true }) in a worker thread", async () => {
    const o = await scenario("worker", undefined, workerFlags);
    assert.ok(
      o.after.some((l) => /^TypeError: .*worker thread/.test(l)),
      o.lines.join("\n"),
    );
  });

  // Web workers: Deno's and Bun's (Node has none).
  if (runtime !== "node") {
    it("throws a clear TypeError at defer({ exit: true }) in a web worker", async () => {
      const o = await scenario("web-worker", undefined, workerFlags);
      assert.ok(
        o.after.some((l) => /^TypeError: .*worker thread/.test(l)),
        o.lines.join("\n"),
      );
    });
  }

  it("exits with the policy's exitCode instead of re-raising the signal", async () => {
    const o = await scenario("exit-code", "SIGTERM");
    assert.deepEqual(o.after, ["cleanup ran"]);
    assert.equal(o.signal, null);
    assert.equal(o.code, 0);
  });

  it("hands a report function the structured report", async () => {
    const o = await scenario("report-fn", "SIGINT");
    const line = o.after.find((l) => l.startsWith("report "));
    assert.deepEqual(JSON.parse((line as string).slice(7)), {
      cause: "signal",
      signal: "SIGINT",
      cut: "deadline",
      running: ["hang"],
      notStarted: ["never2", "never1"],
      stacks: 2,
      errors: 0,
    });
    assert.equal(o.stderr, "");
    assert.equal(o.signal, "SIGINT");
  });

  it("throws a clear TypeError at defer() where there is no process", async () => {
    const o = await scenario("no-process");
    assert.match(
      o.lines[0],
      /^TypeError: defer\(\{ exit: true \}\): there is no process/,
    );
    assert.equal(o.code, 0);
  });

  it("runs examples/interrupt.ts's cleanups on a real SIGINT", async () => {
    const example = fileURLToPath(
      new URL("../examples/interrupt.ts", import.meta.url),
    );
    const child = run(example, []);
    await child.waitFor("working 1/10 (press Ctrl-C)");
    child.kill("SIGINT");
    const o = await child.done;
    const at = o.lines.indexOf("working 1/10 (press Ctrl-C)");
    assert.deepEqual(
      o.lines.slice(at + 1).filter((l) => !l.startsWith("working")),
      [
        "rolled back half-written report.csv",
        "worker stopped",
        "removed /tmp/job-42",
      ],
    );
    assert.equal(o.signal, "SIGINT");
  });
});
