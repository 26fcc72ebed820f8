import { readdir, readFile } from "node:fs/promises";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { harborAtif } from "../extractors/harbor.js";
import { harborOutcome } from "../extractors/verifiers.js";
import { discoverRun } from "../nodes/discover.js";
import { HARBOR } from "./corpus.js";

const trial = (name: string) => path.join(HARBOR, name);

describe("Harbor trial extractor (ATIF primary)", () => {
  it("turns every ATIF step into exactly one Step with a /steps/<i> pointer", async () => {
    const run = await discoverRun(trial("bn-fit-modify__AWvGVmB"));
    const atif = JSON.parse(await readFile(path.join(run.root, "agent/trajectory.json"), "utf8"));
    const { steps } = await harborAtif.extract(run);
    expect(steps).toHaveLength(atif.steps.length);
    steps.forEach((step, index) => {
      expect(step.id).toBe(index + 1);
      expect(step.sources).toEqual([{ path: "agent/trajectory.json", pointer: `/steps/${index}` }]);
      expect(step.actor).toBe(atif.steps[index].source);
    });
  });

  it("keeps tool ids, names, args, shell commands, observations and reasoning", async () => {
    const run = await discoverRun(trial("adaptive-rejection-sampler__8swhKXC"));
    const { steps, task } = await harborAtif.extract(run);
    const step4 = steps[3]!;
    expect(step4.tool).toEqual({ name: "Bash", id: "functions.Bash:0", args: { command: ': ""', description: "" }, command: ': ""' });
    expect(step4.observation?.text).toContain("(Bash completed with no output)");
    expect(step4.observation?.is_error).toBe(false);
    expect(step4.thought).toMatch(/adaptive rejection sampler|ARS/);
    expect(task).toMatch(/^Your task is to implement an adaptive-rejection sampler/);
  });

  it("reads the outcome: failed with the failing tests from ctrf.json", async () => {
    const { outcome } = await harborAtif.extract(await discoverRun(trial("bn-fit-modify__AWvGVmB")));
    expect(outcome?.status).toBe("failed");
    expect(outcome?.evidence.length).toBe(9);
    expect(outcome?.evidence[0]).toMatchObject({ name: "test_outputs.py::test_bn_sample_exists", status: "failed", source: { path: "verifier/ctrf.json", pointer: "/results/tests/0" } });
    expect(outcome?.evidence[0]?.detail).toContain("def test_bn_sample_exists");
  });

  it("reads the outcome: unknown when the verifier never ran (no ctrf.json, reward 0)", async () => {
    const { outcome } = await harborAtif.extract(await discoverRun(trial("adaptive-rejection-sampler__8swhKXC")));
    expect(outcome?.status).toBe("unknown");
  });

  it("only claims a trial without a trajectory as a run, without choosing to read it", async () => {
    const run = await discoverRun(trial("train-fasttext__yedcSJz"));
    const score = await harborAtif.detect(run);
    expect(score).toBeGreaterThan(0);
    expect(score).toBeLessThan(0.5);
  });
});

describe("Harbor outcome over the whole corpus", () => {
  it("agrees with reward.txt and ctrf.json on every trial", async () => {
    const trials = (await readdir(HARBOR, { withFileTypes: true })).filter((entry) => entry.isDirectory()).map((entry) => entry.name);
    expect(trials.length).toBeGreaterThanOrEqual(89);
    for (const name of trials) {
      const run = await discoverRun(trial(name));
      const outcome = await harborOutcome(run);
      const reward = await readFile(path.join(run.root, "verifier/reward.txt"), "utf8").then((text) => Number(text.trim()), () => undefined);
      const ctrf = await readFile(path.join(run.root, "verifier/ctrf.json"), "utf8").then(JSON.parse, () => undefined);
      const failing = ctrf?.results.tests.filter((test: { status: string }) => test.status === "failed").length ?? 0;
      const expected = reward === 1 ? "passed" : ctrf && (failing > 0 || reward === 0) ? "failed" : "unknown";
      expect(outcome.status, name).toBe(expected);
      if (expected === "failed" && failing > 0) expect(outcome.evidence.length, name).toBe(failing);
    }
  });
});
