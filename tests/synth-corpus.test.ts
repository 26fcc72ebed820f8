import { existsSync, readdirSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { claudeCodeStreamJson } from "../extractors/claudeCode.js";
import { atifFile } from "../extractors/atifFile.js";
import { harborAtif } from "../extractors/harbor.js";
import { specExtractor } from "../extractors/specEngine.js";
import { induceSpecs } from "../extractors/synthesize/induce.js";
import type { Extractor } from "../extractors/types.js";
import { discoverRun } from "../nodes/discover.js";
import type { Step } from "../schema/step.js";
import { HARBOR } from "./corpus.js";

/**
 * Issue 4 acceptance: with the built-in extractors out of the picture, offline schema induction on the
 * corpus's Harbor ATIF trajectories and Claude Code claude-code.txt logs yields the same steps as the
 * built-ins (same count, same sources) on at least 95% of runs.
 */

const trials = readdirSync(HARBOR).filter((name) => existsSync(path.join(HARBOR, name, "agent")));

const sourcesOf = (steps: Step[]) => JSON.stringify(steps.map((step) => step.sources));

/** Share of targets where the best induced spec gives the built-in's step count and sources; the misses by name. */
async function agreement(targets: string[], builtin: Extractor): Promise<{ rate: number; misses: string[] }> {
  const misses: string[] = [];
  for (const target of targets) {
    const run = await discoverRun(target);
    const best = (await induceSpecs(run))[0];
    const expected = await builtin.extract(run);
    const induced = best ? await specExtractor(best.spec).extract(run) : { steps: [] };
    if (induced.steps.length !== expected.steps.length || sourcesOf(induced.steps) !== sourcesOf(expected.steps)) misses.push(target);
  }
  return { rate: (targets.length - misses.length) / targets.length, misses };
}

describe("offline synthesis matches the built-in extractors on the corpus", () => {
  it("every ATIF trajectory file analysed on its own", async () => {
    const files = trials.map((name) => path.join(HARBOR, name, "agent/trajectory.json")).filter(existsSync);
    expect(files.length).toBeGreaterThan(70);
    const { rate, misses } = await agreement(files, atifFile);
    expect(misses).toEqual([]);
    expect(rate).toBe(1);
  });

  it("every Harbor trial directory: the trajectory is chosen over claude-code.txt and the side files", async () => {
    const dirs = trials.map((name) => path.join(HARBOR, name)).filter((dir) => existsSync(path.join(dir, "agent/trajectory.json")));
    const { rate, misses } = await agreement(dirs, harborAtif);
    expect(misses.length, misses.join("\n")).toBeLessThanOrEqual(Math.floor(dirs.length * 0.05));
    expect(rate).toBeGreaterThanOrEqual(0.95);
  });

  it("every claude-code.txt log analysed on its own (tool calls emitted twice, reused ids, thinking before calls)", async () => {
    const files = trials.map((name) => path.join(HARBOR, name, "agent/claude-code.txt")).filter(existsSync);
    expect(files.length).toBeGreaterThan(80);
    const { rate, misses } = await agreement(files, claudeCodeStreamJson);
    expect(rate, misses.join("\n")).toBeGreaterThanOrEqual(0.95);
  });
});
