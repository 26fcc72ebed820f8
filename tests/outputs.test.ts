import { mkdtemp, readFile, readdir, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { analyzeRun } from "../graphs/analyze.js";
import { traceJsonChunks, writeFileAtomic } from "../outputs/write.js";
import { HARBOR, REPO } from "./corpus.js";

const options = { llm: "off" as const, home: os.tmpdir(), remember: false, builtin: true };

describe("writing outputs", () => {
  it("streams trace.json byte-identical to JSON.stringify(trace, null, 2)", async () => {
    for (const run of [path.join(REPO, "examples", "harbor-demo__fib01"), path.join(HARBOR, "bn-fit-modify__AWvGVmB")]) {
      const { trace } = await analyzeRun(run, options);
      expect([...traceJsonChunks(trace)].join("")).toBe(`${JSON.stringify(trace, null, 2)}\n`);
      expect([...traceJsonChunks({ ...trace, steps: [] })].join("")).toBe(`${JSON.stringify({ ...trace, steps: [] }, null, 2)}\n`);
    }
  });

  it("replaces a file atomically and leaves no temp file behind, even when the content fails midway", async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), "ct-atomic-"));
    const file = path.join(dir, "trace.json");
    await writeFile(file, "previous version\n");
    function* failing(): Iterable<string> {
      yield "half of a new ";
      throw new Error("disk on fire");
    }
    await expect(writeFileAtomic(file, failing())).rejects.toThrow("disk on fire");
    expect(await readFile(file, "utf8")).toBe("previous version\n");
    await writeFileAtomic(file, ["new ", "version\n"]);
    expect(await readFile(file, "utf8")).toBe("new version\n");
    expect(await readdir(dir)).toEqual(["trace.json"]);
  });
});
