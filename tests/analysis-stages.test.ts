import { readdir } from "node:fs/promises";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { stepFacts } from "../analysis/classify.js";
import { dialectOf, meanStageLength, stageModelFor } from "../analysis/granularity.js";
import { segmentStages } from "../analysis/stages.js";
import { alignToUnits, projectReferenceStages } from "../evals/referenceStages.js";
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

  it("cuts as finely as the annotators of the run's dialect do, and deterministically", async () => {
    const { trace } = await analyzeRun(await firstRun(path.join(NORMALIZED, "openhands"), 4), options);
    const facts = trace.steps.map(stepFacts);
    expect(dialectOf(trace.run.format, trace.steps)).toMatch(/\|execute_bash$/);
    const learned = stageModelFor(trace.run.format, trace.steps);
    expect(learned.runs).toBeGreaterThan(20);
    const stages = segmentStages(trace.steps, facts, learned);
    expect(segmentStages(trace.steps, facts, learned)).toEqual(stages);
    // The dev-set annotators cut by purpose only: their model asks for far longer stages.
    const coarse = stageModelFor("terminal-bench trial (Claude Code stream-json in sessions/agent.cast)", [{ id: 1, kind: "explore", actor: "agent", tool: { name: "Bash", command: "ls" }, sources: [] }]);
    expect(meanStageLength(coarse)).toBeGreaterThan(2 * meanStageLength(learned));
    expect(segmentStages(trace.steps, facts, coarse).length).toBeLessThan(stages.length);
    // A format never seen borrows the average model of every dialect.
    expect(stageModelFor("a format never seen", trace.steps).runs).toBeGreaterThan(learned.runs);
  });

  it("keeps a run of waits and polls together as one stage", async () => {
    const run = await firstRun(path.join(NORMALIZED, "terminus2", "Moonshot__Kimi-K2-250905", "terminus2-kimi", "audio-synth-stft-peaks"), 1);
    const { trace } = await analyzeRun(run, options);
    const idle = trace.steps.filter((step) => step.tool?.command?.trim() === "").map((step) => step.id);
    expect(idle.length).toBeGreaterThan(5);
    // Consecutive empty keystrokes (waiting for apt-get) never open a stage of their own.
    const opened = new Set(trace.stages.map((stage) => stage.start_step_id));
    const insideWaits = idle.filter((id) => idle.includes(id - 1));
    expect(insideWaits.length).toBeGreaterThan(5);
    expect(insideWaits.filter((id) => opened.has(id))).toEqual([]);
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
    expect(projected.fits).toBe(true);
    const ids = new Set(trace.steps.map((step) => step.id));
    expect(projected.boundaries.every((id) => ids.has(id))).toBe(true);
    expect(projected.raw.some((id) => !ids.has(id))).toBe(true);
  });

  it("counts commands even where the annotation ends before the last episode (episodes without a command hold none)", async () => {
    const run = await firstRun(path.join(NORMALIZED, "terminus2", "Moonshot__Kimi-K2-250905", "terminus2-kimi", "audio-synth-stft-peaks"), 1);
    const { trace } = await analyzeRun(run, options);
    const annotatedEnd = Math.max(...trace.run.reference_stages!.map((stage) => stage.end_step_id));
    expect(annotatedEnd).toBeLessThan(trace.steps.length);
    const projected = projectReferenceStages(trace.run.reference_stages!, trace.steps);
    expect(projected.unit).toBe("commands");
    const empty = trace.steps.findIndex((step, index) => index > 0 && !projected.holdsUnit![index]);
    expect(empty).toBeGreaterThan(0);
    // A stage predicted to open at an episode that ran no command opens, for the annotation, at the next one that did.
    const ids = trace.steps.map((step) => step.id);
    const next = projected.holdsUnit!.findIndex((holds, index) => index > empty && holds);
    expect(alignToUnits([ids[empty]!], ids, projected.holdsUnit)).toEqual(next < 0 ? [] : [ids[next]!]);
  });

  it("leaves annotations already numbered in extracted steps as they are", async () => {
    const { trace } = await analyzeRun(await firstRun(path.join(NORMALIZED, "miniswe", "Anthropic__Claude-Sonnet-4-20250514-Thinking"), 3), options);
    const projected = projectReferenceStages(trace.run.reference_stages!, trace.steps);
    expect(projected.unit).toBe("steps");
    expect(projected.boundaries).toEqual(projected.raw);
    expect(projected.fits).toBe(true);
  });

  it("flags an annotation of steps the run's files do not hold (harness keystrokes kept instead of the agent's log)", async () => {
    const run = await firstRun(path.join(NORMALIZED, "miniswe", "Anthropic__Claude-Sonnet-4-20250514-Thinking", "miniswe-claude", "cron-broken-network"), 1);
    const { trace } = await analyzeRun(run, options);
    expect(trace.steps.every((step) => step.actor === "harness")).toBe(true);
    const projected = projectReferenceStages(trace.run.reference_stages!, trace.steps);
    expect(Math.max(...trace.run.reference_stages!.map((stage) => stage.end_step_id))).toBeGreaterThan(3 * trace.steps.length);
    expect(projected.fits).toBe(false);
  });
});
