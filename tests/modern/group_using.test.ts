// Groups in `using` and `await using` blocks (needs the syntax: Node 22
// does not run this folder).
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { defer } from "../../mod.ts";

const sleep = (ms: number): Promise<void> =>
  new Promise((resolve) => setTimeout(resolve, ms));

describe("a group in a using block", () => {
  it("is disposed concurrently at the end of an await using block, before older entries", async () => {
    const log: string[] = [];
    {
      await using d = defer();
      d.defer(() => log.push("pool closed"));
      const connections = d.group();
      for (const [name, ms] of [["a", 20], ["b", 1], ["c", 10]] as const) {
        connections.defer(async () => {
          await sleep(ms);
          log.push(`${name} closed`);
        });
      }
    }
    assert.deepEqual(log, ["b closed", "c closed", "a closed", "pool closed"]);
  });

  it("runs its members one after another at the end of a using block", () => {
    const log: string[] = [];
    {
      using d = defer();
      const g = d.group();
      g.defer(() => log.push("first registered"));
      g.defer(() => log.push("last registered"));
    }
    assert.deepEqual(log, ["last registered", "first registered"]);
  });

  it("runs its failure-only members when the block throws", async () => {
    const log: string[] = [];
    await assert.rejects(async () => {
      await using d = defer();
      const uploads = d.group();
      uploads.onFailure(async () => void log.push("part 1 deleted"));
      uploads.onFailure(async () => void log.push("part 2 deleted"));
      throw new Error("upload failed");
    }, { message: "upload failed" });
    assert.deepEqual(log.sort(), ["part 1 deleted", "part 2 deleted"]);
  });
});
