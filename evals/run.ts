import path from "node:path";
import pLimit from "p-limit";
import { analyzeRun } from "../graphs/analyze.js";
import type { AnalyzeOptions } from "../graphs/state.js";
import { writeAnalysis } from "../outputs/write.js";
import { errorMessage } from "../schema/errors.js";
import type { Step } from "../schema/step.js";
import { BASELINES, baselinePrediction } from "./baselines.js";
import { readManifest, type ManifestRecord } from "./manifest.js";
import { macroPRF, microPRF, onsetScores, type OnsetScores, type PRF, type StepPrediction } from "./metrics.js";
import { resolveRef, resolveRefs } from "./refs.js";

export interface EvalRun {
  id: string;
  status: "ok" | "error";
  error?: string;
  gold: StepPrediction;
  /** The manifest labels an onset (runs that failed to analyze still count, as misses). */
  hasOnsetLabel: boolean;
  /** Label references that named no extracted step (a sign of an extraction mismatch). */
  unresolved: number;
  predicted: StepPrediction;
  baselines: Record<string, StepPrediction>;
}

export interface Scores {
  onset: OnsetScores;
  incorrect: { macro: PRF; micro: PRF };
  unuseful: { macro: PRF; micro: PRF };
}

export interface EvalResult {
  manifest: string;
  runs: EvalRun[];
  system: Scores;
  baselines: Record<string, Scores>;
}

const NO_PREDICTION: StepPrediction = { onset: null, incorrect: [], unuseful: [] };

/** Diagnose every run of a manifest and score the diagnoses and the baselines against the labels. */
export async function runEval(
  manifestPath: string,
  options: AnalyzeOptions & { out?: string; concurrency?: number; onRun?: (run: EvalRun) => void },
): Promise<EvalResult> {
  const records = await readManifest(manifestPath);
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
  const baselines: Record<string, Scores> = {};
  for (const name of Object.keys(BASELINES)) baselines[name] = score(runs, (run) => run.baselines[name] ?? NO_PREDICTION);
  return { manifest: manifestPath, runs, system: score(runs, (run) => run.predicted), baselines };
}

async function evalOne(record: ManifestRecord, options: AnalyzeOptions & { out?: string }): Promise<EvalRun> {
  try {
    const analysis = await analyzeRun(record.absolutePath, options);
    if (options.out) await writeAnalysis(path.join(options.out, "runs", safeKey(record.id)), analysis);
    const steps = analysis.trace.steps;
    const { gold, unresolved } = goldOf(record, steps);
    const baselines: Record<string, StepPrediction> = {};
    for (const name of Object.keys(BASELINES)) baselines[name] = baselinePrediction(name, steps);
    return {
      id: record.id,
      status: "ok",
      gold,
      hasOnsetLabel: record.labels.onset !== undefined,
      unresolved,
      predicted: {
        onset: analysis.diagnosis.onset?.step_id ?? null,
        incorrect: analysis.diagnosis.incorrect_step_ids,
        unuseful: analysis.diagnosis.unuseful_step_ids,
      },
      baselines,
    };
  } catch (err) {
    return { id: record.id, status: "error", error: errorMessage(err), gold: unreadableGold(record), hasOnsetLabel: record.labels.onset !== undefined, unresolved: 0, predicted: NO_PREDICTION, baselines: {} };
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

/** Score one predictor over all runs; a run that failed to analyze counts as a miss, not as absent. */
function score(runs: EvalRun[], pick: (run: EvalRun) => StepPrediction): Scores {
  const labelled = runs.filter((run) => run.hasOnsetLabel);
  const pairs = (field: "incorrect" | "unuseful") => labelled.map((run) => ({ predicted: pick(run)[field], gold: run.gold[field] }));
  // An onset label that resolves to no step (or a run that failed) is a miss for every predictor.
  return {
    onset: onsetScores(labelled.map((run) => ({ predicted: pick(run).onset, gold: run.gold.onset }))),
    incorrect: { macro: macroPRF(pairs("incorrect")), micro: microPRF(pairs("incorrect")) },
    unuseful: { macro: macroPRF(pairs("unuseful")), micro: microPRF(pairs("unuseful")) },
  };
}

/** A run id or relative path as one safe directory name. */
export function safeKey(id: string): string {
  return id.replace(/[\\/]+/g, "__").replace(/[^\w.@-]+/g, "_").replace(/^\.+/, "_").slice(0, 180) || "_";
}
