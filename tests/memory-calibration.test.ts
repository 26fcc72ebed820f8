import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CaseCalibration } from "../analysis/calibration.js";
import { learnRules, signTest } from "../analysis/calibrationRules.js";
import { resolveRef } from "../evals/refs.js";
import { analyzeRun, type Analysis } from "../graphs/analyze.js";
import { caseFromAnalysis, FailureCase, storeCase } from "../memory/failureCases.js";
import { recordFeedback } from "../memory/feedback.js";
import { importLabelledRuns } from "../memory/import.js";
import { calibrationCases } from "../memory/recall.js";
import { FAILURES, VectorMemory } from "../memory/vectorStore.js";
import { writeAnalysis } from "../outputs/write.js";
import type { Diagnosis } from "../schema/diagnosis.js";
import { HARBOR, LABELS } from "./corpus.js";

/**
 * Calibration from confirmed cases, on real runs: memory learns how annotators label steps from
 * confirmed runs of OTHER tasks by the same kind of agent, and applies it to a new run. Here the
 * remembered annotators follow one convention the offline rules do not (every repeated garbled call
 * after the onset is incorrect, where offline calls a garbled probe unuseful); the new run is a real
 * labelled kimi run with such calls.
 */
const NEW_RUN = "large-scale-text-editing__ZgUdWkr";
/** Real kimi runs (unlabelled in shared/) whose offline diagnosis calls repeated garbled calls after the onset unuseful. */
const CONVENTION_RUNS = ["mcmc-sampling-stan__7rLpQy5", "merge-diff-arc-agi-task__yBSGZPs", "mteb-retrieve__Z9jgSzu", "pytorch-model-cli__nacnuCT", "winning-avg-corewars__bFQpPiR"];

const kimiLabel = readFileSync(path.join(LABELS, "kimi-silver-dev.jsonl"), "utf8").split("\n").filter(Boolean).map((line) => JSON.parse(line)).find((item) => item.id === NEW_RUN);

let scratch: string;
let cold: Analysis;
const analyze = (run: string, home: string) => analyzeRun(run, { llm: "off", home, remember: false, builtin: true });
const timeless = (diagnosis: Diagnosis) => ({ ...diagnosis, cost: { ...diagnosis.cost, seconds: 0 } });
const signalsAt = (analysis: Analysis, id: number) => new Set(analysis.diagnosis.evidence.filter((item) => item.step_id === id).map((item) => item.signal));
/** Repeated garbled calls after the onset: the steps the remembered convention is about. */
const repeatedGarbledAfterOnset = (analysis: Analysis) =>
  analysis.trace.steps.map((step) => step.id).filter((id) => id > analysis.diagnosis.onset!.step_id && signalsAt(analysis, id).has("malformed_call") && signalsAt(analysis, id).has("repeated_call"));

/**
 * A manifest labelling real runs by the convention: the offline onset and steps, except that every
 * repeated garbled call after the onset is incorrect. Labels are step ids (DESIGN eval manifest Refs).
 */
async function conventionManifest(runs: string[], file: string): Promise<string> {
  const lines: string[] = [];
  for (const id of runs) {
    const analysis = await analyze(path.join(HARBOR, id), path.join(scratch, "never-created"));
    const repeated = repeatedGarbledAfterOnset(analysis);
    const { diagnosis } = analysis;
    const labels = {
      onset: diagnosis.onset!.step_id,
      incorrect: [...new Set([...diagnosis.incorrect_step_ids, ...repeated])],
      unuseful: diagnosis.unuseful_step_ids.filter((step) => !repeated.includes(step)),
    };
    lines.push(JSON.stringify({ id, path: path.join(HARBOR, id), labels, failure_category: diagnosis.failure_category }));
  }
  writeFileSync(file, `${lines.join("\n")}\n`);
  return file;
}

async function homeRemembering(name: string, runs: string[]): Promise<string> {
  const home = path.join(scratch, name);
  mkdirSync(home, { recursive: true });
  const imported = await importLabelledRuns(await conventionManifest(runs, path.join(home, "labels.jsonl")), { home });
  expect(imported.errors).toEqual([]);
  return home;
}

beforeAll(async () => {
  scratch = mkdtempSync(path.join(os.tmpdir(), "codetracer-calibration-"));
  cold = await analyze(path.join(HARBOR, NEW_RUN), path.join(scratch, "never-created"));
});
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

describe("memory import stores what calibration learns from", () => {
  it("keeps every step as the offline analysis saw it, beside the person's labels", async () => {
    const home = path.join(scratch, "one-labelled");
    mkdirSync(home);
    const manifest = path.join(home, "labels.jsonl");
    writeFileSync(manifest, `${JSON.stringify({ ...kimiLabel, path: path.join(HARBOR, NEW_RUN) })}\n`);
    await importLabelledRuns(manifest, { home });
    const memory = await VectorMemory.open(home);
    const stored = FailureCase.parse(memory.get(FAILURES, path.join(HARBOR, NEW_RUN))!.metadata);
    memory.close();

    const calibration = CaseCalibration.parse(stored.calibration);
    const { trace, diagnosis } = cold;
    expect(calibration).toMatchObject({ extractor: trace.run.extractor.id, offline: { onset: diagnosis.onset!.step_id, category: diagnosis.failure_category } });
    expect(calibration.steps.map((step) => step.step)).toEqual(trace.steps.map((step) => step.id));
    expect(calibration.steps.filter((step) => step.offline === "incorrect").map((step) => step.step)).toEqual(diagnosis.incorrect_step_ids);
    expect(calibration.steps.filter((step) => step.offline === "unuseful").map((step) => step.step)).toEqual(diagnosis.unuseful_step_ids);
    expect(calibration.steps.filter((step) => step.chain).map((step) => step.step)).toEqual(diagnosis.error_chain);
    const goldOnset = resolveRef(kimiLabel.labels.onset, trace.steps);
    expect(calibration.steps.filter((step) => step.gold === "onset").map((step) => step.step)).toEqual([goldOnset]);
    expect(calibration.steps.find((step) => step.step === repeatedGarbledAfterOnset(cold)[0])?.signals).toEqual(expect.arrayContaining(["malformed_call", "repeated_call"]));
  });
});

describe("feedback stores what calibration learns from", () => {
  it("taking the offline view from a diagnosis made without memory as it is", async () => {
    const out = path.join(scratch, "cold-out");
    await writeAnalysis(out, cold);
    const result = await recordFeedback({ outDir: out, onset: cold.diagnosis.onset!.step_id, unuseful: [], home: path.join(scratch, "cold-feedback") });
    const steps = CaseCalibration.parse(result.case.calibration).steps;
    expect(steps.filter((step) => step.offline === "unuseful").map((step) => step.step)).toEqual(cold.diagnosis.unuseful_step_ids);
    expect(steps.filter((step) => step.gold === "unuseful")).toEqual([]);
  });
});

describe("an empty or too small memory changes nothing", () => {
  it("gives the cold diagnosis when the confirmed cases kept no calibration features (stored before there were any)", async () => {
    const home = path.join(scratch, "featureless");
    const memory = await VectorMemory.open(home);
    for (const id of CONVENTION_RUNS) {
      const { trace, diagnosis } = await analyze(path.join(HARBOR, id), path.join(scratch, "never-created"));
      await storeCase(memory, caseFromAnalysis(trace, diagnosis, { confirmed: true, labels: { onset: diagnosis.onset!.step_id }, source: "import" }));
    }
    expect(calibrationCases(memory, cold.trace)).toEqual([]);
    memory.close();
    expect(timeless((await analyze(path.join(HARBOR, NEW_RUN), home)).diagnosis)).toEqual(timeless(cold.diagnosis));
  });

  it("needs a convention to hold on significantly many remembered runs: four agreeing runs are not enough", async () => {
    expect(signTest(4, 0)).toBeGreaterThan(0.05);
    const home = await homeRemembering("four-runs", CONVENTION_RUNS.slice(0, 4));
    const warm = await analyze(path.join(HARBOR, NEW_RUN), home);
    expect(warm.diagnosis.incorrect_step_ids).toEqual(cold.diagnosis.incorrect_step_ids);
    expect(warm.diagnosis.evidence.some((item) => item.signal === "memory_calibration")).toBe(false);
  });
});

describe("annotators who mark every repeated garbled call after the onset incorrect", () => {
  let home: string;
  let warm: Analysis;
  beforeAll(async () => {
    home = await homeRemembering("convention", CONVENTION_RUNS);
    warm = await analyze(path.join(HARBOR, NEW_RUN), home);
  });

  it("teach memory to call a new run's repeated garbled calls incorrect, and nothing else changes", () => {
    const repeated = repeatedGarbledAfterOnset(cold);
    expect(repeated.length).toBeGreaterThan(0);
    expect(repeated.some((id) => cold.diagnosis.unuseful_step_ids.includes(id))).toBe(true);
    expect(warm.diagnosis.incorrect_step_ids).toEqual(expect.arrayContaining(repeated));
    expect(warm.diagnosis.unuseful_step_ids.filter((id) => repeated.includes(id))).toEqual([]);
    expect(warm.diagnosis.onset).toEqual(cold.diagnosis.onset);
    expect(warm.diagnosis.failure_category).toBe(cold.diagnosis.failure_category);
    const moved = [...warm.diagnosis.incorrect_step_ids, ...cold.diagnosis.incorrect_step_ids].filter((id) => warm.diagnosis.incorrect_step_ids.includes(id) !== cold.diagnosis.incorrect_step_ids.includes(id));
    expect(moved.every((id) => repeated.includes(id))).toBe(true);
  });

  it("say why in the evidence and list the cases they came from", () => {
    const calibrated = warm.diagnosis.evidence.filter((item) => item.signal === "memory_calibration");
    expect(calibrated).toHaveLength(1);
    expect(calibrated[0]!.why).toMatch(/^memory: of \d+ such steps \(after the onset, malformed call, other step, repeated, called unuseful offline\) in 5 remembered runs, annotators marked \d+ incorrect/);
    expect(warm.diagnosis.cases_used?.filter((entry) => entry.role === "calibration").map((entry) => path.basename(entry.id)).sort()).toEqual([...CONVENTION_RUNS].sort());
  });

  it("are learned the same whatever order the cases come in, and the diagnosis is the same every time", async () => {
    const memory = await VectorMemory.open(home);
    const cases = calibrationCases(memory, cold.trace);
    memory.close();
    expect(learnRules([...cases].reverse())).toEqual(learnRules(cases));
    expect(timeless((await analyze(path.join(HARBOR, NEW_RUN), home)).diagnosis)).toEqual(timeless(warm.diagnosis));
  });

  it("feedback on the calibrated diagnosis stores the offline view of the run, not memory's", async () => {
    const out = path.join(scratch, "warm-out");
    await writeAnalysis(out, warm);
    const feedbackHome = path.join(scratch, "feedback-home");
    const result = await recordFeedback({ outDir: out, onset: warm.diagnosis.onset!.step_id, home: feedbackHome });
    const steps = CaseCalibration.parse(result.case.calibration).steps;
    expect(steps.filter((step) => step.offline === "incorrect").map((step) => step.step)).toEqual(cold.diagnosis.incorrect_step_ids);
    expect(steps.filter((step) => step.gold === "onset" || step.gold === "incorrect").map((step) => step.step)).toEqual(warm.diagnosis.incorrect_step_ids);
  });
});
