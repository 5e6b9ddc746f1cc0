// Press Ctrl-C while this works: the exit-bound stack is disposed (newest
// cleanup first, async ones awaited), then the process ends as interrupted
// (status 130). Left alone, it finishes and cleans up the same way.
//
//   deno task interrupt        (no permissions needed)
//   node examples/interrupt.ts / bun examples/interrupt.ts
//
// No `using` syntax, so it runs on Node 22 as well: scope() is the block.
import { scope, setExitPolicy } from "../mod.ts";

const sleep = (ms: number): Promise<void> =>
  new Promise((resolve) => setTimeout(resolve, ms));

setExitPolicy({ timeout: 3_000 }); // give the cleanups 3 s at most

await scope(async (d) => {
  console.log("open temp dir /tmp/job-42");
  d.defer((dir: string) => console.log(`removed ${dir}`), "/tmp/job-42");

  console.log("start worker");
  d.use({
    async [Symbol.asyncDispose]() {
      await sleep(200); // stopping takes a moment: it is awaited
      console.log("worker stopped");
    },
  });

  console.log("begin writing report.csv");
  d.onFailure(() => console.log("rolled back half-written report.csv"));

  for (let step = 1; step <= 10; step++) {
    console.log(`working ${step}/10 (press Ctrl-C)`);
    await sleep(500);
  }
  console.log("all done");
}, { exit: true });
