import { stat } from "node:fs/promises";
import path from "node:path";
import pLimit from "p-limit";
import { readFailingChecks, type FailingCheck } from "../analysis/checks.js";
import { findRuns } from "../extractors/findRuns.js";
import { analyzeRun, type Analysis } from "../graphs/analyze.js";
import type { AnalyzeOptions } from "../graphs/state.js";
import { buildReplayMessages } from "../outputs/replayMessages.js";
import { writeAnalysis } from "../outputs/write.js";
import { errorMessage } from "../schema/errors.js";
import { ReplayPlan } from "../schema/replay.js";
import type { Step } from "../schema/step.js";
import { discoverRun } from "../nodes/discover.js";
import { BASELINES, baselinePrediction, type BaselineInput } from "./baselines.js";
import { readManifest, type ManifestRecord } from "./manifest.js";
import type { StepPrediction } from "./metrics.js";
import { resolveRef, resolveRefs } from "./refs.js";
import { SECOND_ANNOTATOR, scoreEval, type EvalSummary } from "./score.js";
import { stageEval, type StageEval } from "./stageEval.js";

export interface EvalRun {
  id: string;
  status: "ok" | "error";
  error?: string;
  /** The run's format (trace.json `run.format`), for the per-format breakdown. */
  format: string;
  gold: StepPrediction;
  /** The manifest labels an onset (runs that failed to analyze still count, as misses). */
  hasOnsetLabel: boolean;
  /** Label references that named no extracted step (a sign of an extraction mismatch). */
  unresolved: number;
  predicted: StepPrediction;
  baselines: Record<string, StepPrediction>;
  goldCategory?: string;
  predictedCategory?: string;
  /** The failure category a second annotator chose (eval --annotator). */
  annotatorCategory?: string;
  /** Stage boundaries (step ids where a stage starts) against the gold segmentation, when there is one. */
  stages?: StageEval;
  /** Problems found in the run's replay bundle (empty when replay.json and replay.messages.json validate). */
  replayProblems: string[];
}

export interface EvalResult extends EvalSummary {
  manifest: string;
  runs: EvalRun[];
}

/** Runs analysed and kept in memory, so that a scoring model can be re-run on them (evals/tune.ts). */
export interface AnalysedRun {
  record: ManifestRecord;
  analysis: Analysis;
  checks: FailingCheck[];
}

export interface EvalOptions extends AnalyzeOptions {
  out?: string;
  concurrency?: number;
  onRun?: (run: EvalRun) => void;
  /** Receives every analysed run (for callers that re-score them). */
  keep?: (run: AnalysedRun) => void;
  /** Another annotator's labels of (some of) the same runs, by record id: scored beside the system as an agreement ceiling. */
  secondAnnotator?: Map<string, ManifestRecord>;
}

const NO_PREDICTION: StepPrediction = { onset: null, incorrect: [], unuseful: [] };

/**
 * Diagnose every run of a manifest (or, given a directory, every run below it, scored on stages
 * only against the reference stages its extractor found) and score against the labels, beside the baselines.
 */
export async function runEval(input: string, options: EvalOptions): Promise<EvalResult> {
  const records = (await stat(input)).isDirectory() ? await recordsOfDirectory(input) : await readManifest(input);
  const limit = pLimit(options.concurrency ?? 1);
  const runs = await Promise.all(
    records.map((record) =>
      limit(async () => {
        const run = await evalOne(record, options);
        options.onRun?.(run);
        return run;
      }),
    ),
  );
  const rows = [...Object.keys(BASELINES), ...(options.secondAnnotator ? [SECOND_ANNOTATOR] : [])];
  return { manifest: input, runs, ...scoreEval(runs, rows) };
}

/** A folder of runs as a label-less manifest: each run found below it, by its relative path. */
async function recordsOfDirectory(dir: string): Promise<ManifestRecord[]> {
  return (await findRuns(dir)).map((found) => ({ id: found.relative, path: found.relative, labels: {}, absolutePath: found.absolute }));
}

async function evalOne(record: ManifestRecord, options: EvalOptions): Promise<EvalRun> {
  const hasOnsetLabel = record.labels.onset !== undefined;
  const goldCategory = record.labels.failure_category ?? record.failure_category;
  try {
    const analysis = await analyzeRun(record.absolutePath, options);
    if (options.out) await writeAnalysis(path.join(options.out, "runs", safeKey(record.id)), analysis);
    const { trace, diagnosis } = analysis;
    const checks = await readFailingChecks(await discoverRun(record.absolutePath), trace.run.outcome);
    options.keep?.({ record, analysis, checks });
    const steps = trace.steps;
    const { gold, unresolved } = goldOf(record, steps);
    const baselineInput: BaselineInput = { steps, outcome: trace.run.outcome, task: trace.run.task, checks };
    const baselines: Record<string, StepPrediction> = {};
    for (const name of Object.keys(BASELINES)) baselines[name] = baselinePrediction(name, baselineInput);
    // The second annotator's refs resolve on the same steps as the gold; a run they did not label is a miss.
    const second = options.secondAnnotator?.get(record.id);
    if (options.secondAnnotator) baselines[SECOND_ANNOTATOR] = second ? goldOf(second, steps).gold : NO_PREDICTION;
    const annotatorCategory = second?.labels.failure_category ?? second?.failure_category;
    const stages = stageEval(record, analysis);
    return {
      id: record.id,
      status: "ok",
      format: trace.run.format,
      gold,
      hasOnsetLabel,
      unresolved,
      predicted: { onset: diagnosis.onset?.step_id ?? null, incorrect: diagnosis.incorrect_step_ids, unuseful: diagnosis.unuseful_step_ids },
      baselines,
      ...(goldCategory ? { goldCategory } : {}),
      predictedCategory: diagnosis.failure_category,
      ...(annotatorCategory ? { annotatorCategory } : {}),
      ...(stages ? { stages } : {}),
      replayProblems: replayProblems(analysis),
    };
  } catch (err) {
    return {
      id: record.id,
      status: "error",
      error: errorMessage(err),
      format: "unknown",
      gold: unreadableGold(record),
      hasOnsetLabel,
      unresolved: 0,
      predicted: NO_PREDICTION,
      baselines: {},
      ...(goldCategory ? { goldCategory } : {}),
      replayProblems: [],
    };
  }
}

/** The replay plan and its message bundle must both validate (the bundle is rebuilt and checked here). */
function replayProblems(analysis: Analysis): string[] {
  const plan = ReplayPlan.safeParse(analysis.replay);
  if (!plan.success) return plan.error.issues.map((issue) => `replay.json ${issue.path.join(".")}: ${issue.message}`);
  try {
    const bundle = buildReplayMessages(analysis.trace, analysis.replay);
    const last = bundle.messages[bundle.messages.length - 1]!;
    if (analysis.replay.resumable && !(last.role === "user" && last.content.includes(analysis.replay.guidance))) return ["replay.messages.json does not end with the guidance"];
    return [];
  } catch (err) {
    return [`replay.messages.json: ${errorMessage(err)}`];
  }
}

/**
 * Gold step ids of a run. A label that names no step stays in the gold set as a negative placeholder
 * id, which no predictor can hit: it lowers recall instead of silently vanishing.
 */
function goldOf(record: ManifestRecord, steps: Step[]): { gold: StepPrediction; unresolved: number } {
  const onsetRef = record.labels.onset;
  const onset = onsetRef === undefined ? null : resolveRef(onsetRef, steps) ?? null;
  const incorrect = resolveRefs(record.labels.incorrect, steps);
  const unuseful = resolveRefs(record.labels.unuseful, steps);
  const unresolved = (onsetRef !== undefined && onset === null ? 1 : 0) + incorrect.unresolved + unuseful.unresolved;
  return {
    gold: { onset, incorrect: [...incorrect.ids, ...placeholders(incorrect.unresolved)], unuseful: [...unuseful.ids, ...placeholders(unuseful.unresolved)] },
    unresolved,
  };
}

/** The gold of a run that could not be analyzed: every label is unresolvable. */
function unreadableGold(record: ManifestRecord): StepPrediction {
  return { onset: null, incorrect: placeholders(record.labels.incorrect?.length ?? 0), unuseful: placeholders(record.labels.unuseful?.length ?? 0) };
}

function placeholders(count: number): number[] {
  return Array.from({ length: count }, (_, index) => -(index + 1));
}

/** A run id or relative path as one safe directory name. */
export function safeKey(id: string): string {
  return id.replace(/[\\/]+/g, "__").replace(/[^\w.@-]+/g, "_").replace(/^\.+/, "_").slice(0, 180) || "_";
}
