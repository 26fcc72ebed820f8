import { mkdtemp, readFile, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { atifFile } from "../extractors/atifFile.js";
import { harborAtif } from "../extractors/harbor.js";
import { builtinExtractors } from "../extractors/index.js";
import { bestExtractor } from "../nodes/fingerprint.js";
import { discoverRun } from "../nodes/discover.js";
import { RunError } from "../schema/errors.js";
import { HARBOR } from "./corpus.js";

const TRIAL = path.join(HARBOR, "bn-fit-modify__AWvGVmB");
const TRAJECTORY = path.join(TRIAL, "agent", "trajectory.json");

describe("ATIF trajectory as a standalone file", () => {
  it("is recognised on its own and chosen over nothing else", async () => {
    const run = await discoverRun(TRAJECTORY);
    expect(await atifFile.detect(run)).toBe(1);
    expect((await bestExtractor(run, builtinExtractors))?.id).toBe("atif-file");
  });

  it("gives the same steps as inside its Harbor trial, pointing at /steps/<i> of the file", async () => {
    const alone = await atifFile.extract(await discoverRun(TRAJECTORY));
    const inTrial = await harborAtif.extract(await discoverRun(TRIAL));
    const raw = JSON.parse(await readFile(TRAJECTORY, "utf8")) as { steps: unknown[] };
    expect(alone.steps).toHaveLength(raw.steps.length);
    expect(alone.steps.map(({ sources, ...rest }) => rest)).toEqual(inTrial.steps.map(({ sources, ...rest }) => rest));
    alone.steps.forEach((step, index) => expect(step.sources).toEqual([{ path: "trajectory.json", pointer: `/steps/${index}` }]));
    expect(alone.task).toBe(inTrial.task);
    expect(alone.outcome).toEqual({ status: "unknown", evidence: [] });
  });

  it("streams a big trajectory to the same steps", async () => {
    const whole = await atifFile.extract(await discoverRun(TRAJECTORY));
    process.env.CODETRACER_STREAM_ABOVE_BYTES = "1";
    try {
      expect(await atifFile.extract(await discoverRun(TRAJECTORY))).toEqual(whole);
    } finally {
      delete process.env.CODETRACER_STREAM_ABOVE_BYTES;
    }
  });

  it("a truncated trajectory is a one-line RunError", async () => {
    const file = path.join(await mkdtemp(path.join(tmpdir(), "ct-atif-")), "trajectory.json");
    const text = await readFile(TRAJECTORY, "utf8");
    await writeFile(file, text.slice(0, text.length - 100));
    await expect(atifFile.extract(await discoverRun(file))).rejects.toBeInstanceOf(RunError);
  });
});
