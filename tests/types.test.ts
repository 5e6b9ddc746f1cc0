// Types, checked by `deno check` (part of `deno task test`): each
// `@ts-expect-error` below must meet an error, or the check fails, and each
// annotation must hold. The runtime assertions run on every runtime.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { defer, type DeferHandle, scope } from "../mod.ts";
import { thrown } from "./helpers.ts";

/** `true` only if A and B are the same type. */
type Equals<A, B> = (<T>() => T extends A ? 1 : 2) extends
  (<T>() => T extends B ? 1 : 2) ? true : false;

describe("DeferHandle's types", () => {
  it("carries what the cleanup returns into dispose()", async () => {
    const d = defer();
    const done = d.defer(async () => "done").dispose();
    const exact: Equals<typeof done, Promise<string> | undefined> = true;
    assert.equal(exact, true);
    assert.equal(await done, "done");
    // @ts-expect-error: a number is not a string
    const wrong: string | undefined = d.defer(() => 1).dispose();
    assert.equal(wrong, 1);
  });

  it("carries it for onFailure() too", () => {
    const d = defer();
    const count = d.onFailure((n: number) => n + 1, 41).dispose();
    const exact: Equals<typeof count, number | undefined> = true;
    assert.equal(exact, true);
    assert.equal(count, 42);
  });

  it("is a Disposable and an AsyncDisposable", () => {
    const d = defer();
    const asDisposable: Disposable = d.defer(() => {});
    const asAsync: AsyncDisposable = d.defer(async () => {});
    const handle: DeferHandle = d.defer((s: string) => s.length, "x");
    assert.equal(typeof asDisposable[Symbol.dispose], "function");
    assert.equal(typeof asAsync[Symbol.asyncDispose], "function");
    assert.equal(handle.pending, true);
  });

  it("checks bound arguments against the cleanup's parameters", () => {
    const d = defer();
    // @ts-expect-error: "x" is not a number
    d.defer((n: number) => n, "x");
    // @ts-expect-error: one argument is missing
    d.defer((a: string, b: string) => a + b, "a");
    assert.equal(d.size, 2);
    d.release();
  });

  it("takes an overloaded cleanup without arguments, as the built-in's defer() does", () => {
    function close(): string;
    function close(force: boolean): string;
    function close(force = false): string {
      return force ? "closed by force" : "closed";
    }
    const d = defer();
    const h = d.defer(close);
    assert.equal(h.dispose(), "closed");
    const g = defer().group();
    assert.equal(g.defer(close).pending, true);
    // Overloads that return different types: the result is unknown.
    function read(): string;
    function read(n: number): number;
    function read(n?: number): string | number {
      return n ?? "all";
    }
    const r = d.defer(read).dispose();
    const unknownResult: Equals<typeof r, unknown> = true;
    assert.equal(unknownResult, true);
    assert.equal(r, "all");
    assert.equal(g.defer(read).pending, true);
    // onFailure() takes them as defer() does.
    assert.equal(d.onFailure(close).pending, true);
    assert.equal(d.onFailure(read).pending, true);
    assert.equal(g.onFailure(read).pending, true);
    // Still an error: a cleanup that needs an argument, given none.
    // @ts-expect-error: no overload takes (n: number) => number alone
    d.defer((n: number) => n);
    d.release();
  });

  it("binds an overloaded cleanup through an arrow function", () => {
    function close(fd: number): string;
    function close(fd: number, force: boolean): string;
    function close(fd: number, force = false): string {
      return `closed ${fd}${force ? " by force" : ""}`;
    }
    const d = defer();
    // TypeScript matches the last overload only: d.defer(close, 3) fails.
    // @ts-expect-error: expected 3 arguments, but got 2
    d.defer(close, 3);
    const h = d.defer((fd: number) => close(fd), 3);
    assert.equal(h.dispose(), "closed 3");
    d.release();
  });
});

describe("DeferGroup's types", () => {
  it("gives a Promise from [Symbol.asyncDispose](), as disposeAsync() does", async () => {
    const g = defer().group();
    const p = g[Symbol.asyncDispose]();
    const exact: Equals<typeof p, Promise<void>> = true;
    assert.equal(exact, true);
    assert.ok(p instanceof Promise);
    await p.catch(() => {});
  });
});

describe("scope()'s types", () => {
  it("types what a synchronous body returns as is", () => {
    const total = scope(() => 1 + 2);
    const exact: Equals<typeof total, number> = true;
    assert.equal(exact, true);
    assert.equal(total, 3);
  });

  it("types a body that always throws as never, as it was", () => {
    const fail = (): never => {
      throw new Error("no config");
    };
    const e = thrown(() => {
      const port: number = scope(() => fail());
      return port;
    });
    assert.equal((e as Error).message, "no config");
    const failing = () => scope(() => fail());
    const exact: Equals<ReturnType<typeof failing>, never> = true;
    assert.equal(exact, true);
  });

  it("types an async body's result as a promise of its value", async () => {
    const p = scope(async () => "done");
    const exact: Equals<typeof p, Promise<string>> = true;
    assert.equal(exact, true);
    assert.equal(await p, "done");
  });

  it("types a thenable that is not a promise as the promise scope() returns", async () => {
    // A query builder: a thenable with methods of its own, which the
    // promise scope() returns does not have.
    const query = {
      where: (): string => "filtered",
      then<A = number[], B = never>(
        onFulfilled?: ((rows: number[]) => A | PromiseLike<A>) | null,
        onRejected?: ((reason: unknown) => B | PromiseLike<B>) | null,
      ): Promise<A | B> {
        return Promise.resolve([1, 2]).then(onFulfilled, onRejected);
      },
    };
    const p = scope(() => query);
    const exact: Equals<typeof p, Promise<number[]>> = true;
    assert.equal(exact, true);
    assert.ok(p instanceof Promise);
    // @ts-expect-error: the builder's methods are not the promise's
    assert.equal(p.where, undefined);
    assert.deepEqual(await p, [1, 2]);
  });
});
