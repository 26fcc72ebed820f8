import { readdir } from "node:fs/promises";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { boundaryEvidence, CUE_WEIGHTS } from "../analysis/boundaryEvidence.js";
import { stepFacts } from "../analysis/classify.js";
import { stageModelFor } from "../analysis/granularity.js";
import { stepPurposes } from "../analysis/stages.js";
import { matchCounts } from "../analysis/stageDecoder.js";
import { boundaryPosteriors, sampleSegmentations, StageModel } from "../analysis/stageModel.js";
import { boundaryPRF } from "../evals/metrics.js";
import { stageEval, type StageEval } from "../evals/stageEval.js";
import { learnStageModels, twoFoldPredictions } from "../evals/stageLearning.js";
import { analyzeRun } from "../graphs/analyze.js";
import type { Step } from "../schema/step.js";
import { NORMALIZED } from "./corpus.js";

const options = { llm: "off" as const, home: "/tmp/codetracer-test-home", remember: false, builtin: true };

async function runsBelow(dir: string, count: number): Promise<string[]> {
  const tasks = (await readdir(dir)).sort().slice(0, count);
  return Promise.all(tasks.map(async (task) => path.join(dir, task, (await readdir(path.join(dir, task))).sort()[0]!)));
}

const evidenceOf = (steps: Step[]) => {
  const facts = steps.map(stepFacts);
  return boundaryEvidence(steps, facts, stepPurposes(steps, facts));
};

describe("boundary evidence", () => {
  it("speaks against a boundary inside a run of waits, and for one where the agent turns to something new", async () => {
    const [run] = await runsBelow(path.join(NORMALIZED, "terminus2", "Moonshot__Kimi-K2-250905", "terminus2-kimi"), 1);
    const { trace } = await analyzeRun(run!, options);
    const evidence = evidenceOf(trace.steps);
    const waits = trace.steps.flatMap((step, index) => (index > 0 && step.tool?.command?.trim() === "" && trace.steps[index - 1]!.tool?.command?.trim() === "" ? [index] : []));
    const sorted = [...evidence.slice(1)].sort((a, b) => a - b);
    const median = sorted[Math.floor(sorted.length / 2)]!;
    for (const index of waits) expect(evidence[index]!).toBeLessThan(median);
    expect(Math.max(...evidence)).toBeGreaterThan(median);
  });

  it("counts actions of the original log that were not extracted as steps (OpenHands events left out of steps.json)", async () => {
    const [run] = await runsBelow(path.join(NORMALIZED, "openhands", "Moonshot__Kimi-K2-250905", "openhands_kimi"), 1);
    const { trace } = await analyzeRun(run!, options);
    const eventOf = (step: Step) => Number(/(\d+)\.json$/.exec(step.sources.map((source) => source.path).find((p) => /\d+\.json$/.test(p)) ?? "")?.[1]);
    const jumps = trace.steps.flatMap((step, index) => (index > 0 && eventOf(step) - eventOf(trace.steps[index - 1]!) > 2 ? [index] : []));
    expect(jumps.length).toBeGreaterThan(0);
    // The same steps without their original records: only the jumps lose the hidden-records cue.
    const withoutOrigin = trace.steps.map((step) => ({ ...step, sources: step.sources.filter((source) => source.path === "steps.json") }));
    const [seen, unseen] = [evidenceOf(trace.steps), evidenceOf(withoutOrigin)];
    seen.forEach((score, index) => expect(score - unseen[index]!).toBeCloseTo(jumps.includes(index) ? CUE_WEIGHTS.hiddenRecords : 0, 9));
  });
});

describe("stage model", () => {
  const model = StageModel.parse({ offset: -0.5, scale: 1, rate: 0.4, lengths: [0.4, 0.3, 0.2, 0.1], tail: 0.5, runs: 1, stages: 1 });
  const evidence = [0, 2, -2, -2, 1.5, -1, 0.5, -2, -2, 2, 0, -1];

  it("gives each gap a posterior probability of a boundary that follows its evidence", () => {
    const posteriors = boundaryPosteriors(evidence, model);
    expect(posteriors[0]).toBe(0);
    for (const p of posteriors) {
      expect(p).toBeGreaterThanOrEqual(0);
      expect(p).toBeLessThanOrEqual(1);
    }
    expect(posteriors[1]!).toBeGreaterThan(posteriors[2]!);
    expect(posteriors[9]!).toBeGreaterThan(posteriors[8]!);
  });

  it("draws the same valid segmentations for the same evidence, as many boundaries on average as the posteriors say", () => {
    const samples = sampleSegmentations(evidence, model, 400);
    expect(sampleSegmentations(evidence, model, 400)).toEqual(samples);
    for (const sample of samples) {
      expect(sample).toEqual([...sample].sort((a, b) => a - b));
      for (const cut of sample) {
        expect(cut).toBeGreaterThan(0);
        expect(cut).toBeLessThan(evidence.length);
      }
    }
    const sampled = samples.reduce((sum, sample) => sum + sample.length, 0) / samples.length;
    const expected = boundaryPosteriors(evidence, model).reduce((sum, p) => sum + p, 0);
    expect(Math.abs(sampled - expected)).toBeLessThan(0.3);
  });

  it("counts matches exactly as the eval's boundary F1 does", () => {
    let seed = 11;
    const random = () => ((seed = (seed * 48271) % 2147483647) / 2147483647);
    for (let trial = 0; trial < 300; trial += 1) {
      const predicted = Array.from({ length: 16 }, (_, i) => i).filter(() => random() < 0.45);
      const gold = Array.from({ length: 16 }, (_, i) => i).filter(() => random() < 0.45);
      const { exact, within1 } = matchCounts(predicted, new Set(gold));
      expect(exact).toBe(Math.round(boundaryPRF(predicted, gold, 0).precision * predicted.length));
      expect(within1).toBe(Math.round(boundaryPRF(predicted, gold, 1).precision * predicted.length));
    }
  });
});

describe("learning stage models from annotated runs", () => {
  it("learns the dialect's boundary rate and stage lengths, and segments held-out runs with them", async () => {
    const runs = await runsBelow(path.join(NORMALIZED, "miniswe", "Qwen__Qwen3-Coder-480B-A35B-Instruct", "miniswe-qwen"), 12);
    const evals: { id: string; stages: StageEval }[] = [];
    const traces = [];
    for (const run of runs) {
      const analysis = await analyzeRun(run, options);
      traces.push(analysis.trace);
      const stages = stageEval({ id: run, path: run, labels: {}, absolutePath: run }, analysis);
      if (stages?.fits) evals.push({ id: run, stages });
    }
    expect(evals.length).toBeGreaterThan(4);
    const models = learnStageModels(evals.map((run) => run.stages));
    const dialect = evals[0]!.stages.dialect;
    const model = models[dialect]!;
    const gaps = evals.reduce((sum, run) => sum + run.stages.steps - 1, 0);
    const boundaries = evals.reduce((sum, run) => sum + run.stages.gold.filter((id) => run.stages.stepIds.includes(id)).length, 0);
    expect(model.rate).toBeCloseTo((boundaries + 0.5) / (gaps + 1), 3);
    expect(model.lengths.reduce((sum, p) => sum + p, 0)).toBeCloseTo(1, 3);
    expect(model.runs).toBe(evals.length);
    // The pipeline picks that model for a run of the dialect.
    const trace = traces.find((candidate) => evals.some((run) => run.stages.stepIds.length === candidate.steps.length && run.stages.dialect === dialect))!;
    expect(stageModelFor(trace.run.format, trace.steps, models)).toEqual(model);
    const predictions = twoFoldPredictions(evals);
    for (const run of evals) {
      const predicted = predictions.get(run.id)!;
      expect(predicted.every((id) => run.stages.stepIds.includes(id))).toBe(true);
    }
  });
});
