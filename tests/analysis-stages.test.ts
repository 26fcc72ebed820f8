import { readdir } from "node:fs/promises";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { stepFacts } from "../analysis/classify.js";
import { dialectOf, expectedStageLength } from "../analysis/granularity.js";
import { segmentStages } from "../analysis/stages.js";
import { projectReferenceStages } from "../evals/referenceStages.js";
import { analyzeRun } from "../graphs/analyze.js";
import { StageLabel } from "../schema/trace.js";
import { HARBOR, NORMALIZED, TERMINAL_BENCH } from "./corpus.js";

const options = { llm: "off" as const, home: "/tmp/codetracer-test-home", remember: false, builtin: true };

async function firstRun(dir: string, depth: number): Promise<string> {
  let current = dir;
  for (let level = 0; level < depth; level += 1) current = path.join(current, (await readdir(current)).sort()[0]!);
  return current;
}

describe("stage segmentation", () => {
  it("splits every kind of run into contiguous, labelled stages covering all its steps", async () => {
    const runs = [
      path.join(HARBOR, "largest-eigenval__NoCQiG5"),
      await firstRun(TERMINAL_BENCH, 2),
      await firstRun(path.join(NORMALIZED, "terminus2"), 4),
      await firstRun(path.join(NORMALIZED, "openhands"), 4),
      await firstRun(path.join(NORMALIZED, "miniswe"), 4),
    ];
    for (const run of runs) {
      const { trace } = await analyzeRun(run, options);
      const { steps, stages } = trace;
      expect(stages[0]!.start_step_id, run).toBe(steps[0]!.id);
      expect(stages[stages.length - 1]!.end_step_id, run).toBe(steps[steps.length - 1]!.id);
      stages.forEach((stage, index) => {
        expect(stage.id).toBe(index + 1);
        expect(stage.end_step_id).toBeGreaterThanOrEqual(stage.start_step_id);
        if (index > 0) expect(steps.findIndex((step) => step.id === stage.start_step_id)).toBe(steps.findIndex((step) => step.id === stages[index - 1]!.end_step_id) + 1);
        expect(StageLabel.options).toContain(stage.label);
      });
    }
  });

  it("cuts at least as finely as the learned stage length of the dialect asks, and more where the purpose changes", async () => {
    const { trace } = await analyzeRun(await firstRun(path.join(NORMALIZED, "openhands"), 4), options);
    const facts = trace.steps.map(stepFacts);
    const length = expectedStageLength(trace.run.format, trace.steps);
    expect(length).toBeGreaterThan(0);
    const learned = segmentStages(trace.steps, facts, length);
    const unprimed = segmentStages(trace.steps, facts);
    expect(learned.length).toBeGreaterThanOrEqual(Math.round(trace.steps.length / length!));
    expect(learned.length).toBeGreaterThanOrEqual(unprimed.length);
    expect(expectedStageLength("a format never seen", trace.steps)).toBeUndefined();
    expect(dialectOf(trace.run.format, trace.steps)).toMatch(/\|execute_bash$/);
  });

  it("labels each stage with the purpose most of its steps serve (setup, inspection, implementation, verification)", async () => {
    const { trace } = await analyzeRun(path.join(HARBOR, "largest-eigenval__NoCQiG5"), options);
    const purposes = trace.steps.map(stepFacts).map((facts) => facts.purpose);
    const labels = new Set(trace.stages.map((stage) => stage.label));
    expect(labels.size).toBeGreaterThan(1);
    for (const stage of trace.stages) {
      const inside = purposes.filter((_, index) => trace.steps[index]!.id >= stage.start_step_id && trace.steps[index]!.id <= stage.end_step_id && trace.steps[index]!.tool);
      if (inside.length === 0) continue;
      const counts = new Map<string, number>();
      for (const purpose of inside) counts.set(purpose, (counts.get(purpose) ?? 0) + 1);
      const most = Math.max(...counts.values());
      expect(counts.get(stage.label) ?? 0, `stage ${stage.id}`).toBeGreaterThanOrEqual(most - 1);
    }
  });
});

describe("reference stages annotated in another unit", () => {
  it("projects Terminus 2 annotations, which count commands, onto the episodes that hold them", async () => {
    const { trace } = await analyzeRun(await firstRun(path.join(NORMALIZED, "terminus2", "OpenAI__GPT-5"), 3), options);
    const reference = trace.run.reference_stages!;
    const commands = trace.steps.reduce((sum, step) => sum + (((step.tool?.args as { commands?: unknown[] } | undefined)?.commands?.length) ?? 0), 0);
    expect(Math.max(...reference.map((stage) => stage.end_step_id))).toBe(commands);
    const projected = projectReferenceStages(reference, trace.steps);
    expect(projected.unit).toBe("commands");
    const ids = new Set(trace.steps.map((step) => step.id));
    expect(projected.boundaries.every((id) => ids.has(id))).toBe(true);
    expect(projected.raw.some((id) => !ids.has(id))).toBe(true);
  });

  it("leaves annotations already numbered in extracted steps as they are", async () => {
    const { trace } = await analyzeRun(await firstRun(path.join(NORMALIZED, "miniswe", "Anthropic__Claude-Sonnet-4-20250514-Thinking"), 3), options);
    const projected = projectReferenceStages(trace.run.reference_stages!, trace.steps);
    if (Math.max(...trace.run.reference_stages!.map((stage) => stage.end_step_id)) <= trace.steps[trace.steps.length - 1]!.id) {
      expect(projected.unit).toBe("steps");
      expect(projected.boundaries).toEqual(projected.raw);
    }
  });
});
