import { boundaryPRF, confusion, macroPRF, meanPRF, microPRF, onsetScores, type OnsetScores, type PRF, type StepPrediction } from "./metrics.js";
import type { EvalRun } from "./run.js";

/**
 * Expected stage length per dialect: pooled steps per gold stage over the runs of that dialect
 * (the table analysis/stageLengths.ts holds), plus "*" over all runs as the fallback.
 */
export function learnStageLengths(runs: EvalRun[]): Record<string, number> {
  const pooled = new Map<string, { steps: number; stages: number }>();
  const add = (key: string, steps: number, stages: number) => {
    const entry = pooled.get(key) ?? { steps: 0, stages: 0 };
    pooled.set(key, { steps: entry.steps + steps, stages: entry.stages + stages });
  };
  for (const run of runs) {
    if (!run.stages || run.stages.steps === 0) continue;
    const stages = run.stages.gold.length + 1;
    add(run.stages.dialect, run.stages.steps, stages);
    add("*", run.stages.steps, stages);
  }
  return Object.fromEntries([...pooled].map(([key, { steps, stages }]) => [key, Math.round((steps / stages) * 100) / 100]));
}

export interface Scores {
  onset: OnsetScores;
  incorrect: { macro: PRF; micro: PRF };
  unuseful: { macro: PRF; micro: PRF };
}

/**
 * Stage boundary F1 (macro over runs with a gold segmentation), exact and within ±1 step, against
 * the gold projected onto the extracted steps; `raw` compares with the gold numbers as annotated.
 */
export interface StageScores {
  runs: number;
  exact: PRF;
  within1: PRF;
  raw: { exact: PRF; within1: PRF };
  /** The trivial baseline, a boundary every 2 steps, scored the same two ways. */
  everyTwo: { exact: PRF; within1: PRF; raw: { exact: PRF; within1: PRF } };
  /** Runs whose annotation was in another unit and was projected, by unit. */
  projected: Record<string, number>;
}

/** One slice of the runs (a format, a failure category): onset accuracy of the system and of the best baseline. */
export interface GroupScores {
  runs: number;
  system: OnsetScores;
  bestBaseline: { name: string; exact: number };
  categoryAccuracy?: number;
}

export interface EvalSummary {
  system: Scores;
  baselines: Record<string, Scores>;
  stages?: StageScores;
  byFormat: Record<string, GroupScores>;
  byCategory: Record<string, GroupScores>;
  categories?: { runs: number; accuracy: number; confusion: ReturnType<typeof confusion> };
  replay: { runs: number; valid: number; problems: { id: string; problems: string[] }[] };
}

const NO_PREDICTION: StepPrediction = { onset: null, incorrect: [], unuseful: [] };

export function scoreEval(runs: EvalRun[], baselineNames: string[]): EvalSummary {
  const baselines: Record<string, Scores> = {};
  for (const name of baselineNames) baselines[name] = score(runs, (run) => run.baselines[name] ?? NO_PREDICTION);
  const categorized = runs.filter((run) => run.hasOnsetLabel && run.goldCategory);
  const ok = runs.filter((run) => run.status === "ok");
  const stages = stageScores(runs);
  return {
    system: score(runs, (run) => run.predicted),
    baselines,
    ...(stages ? { stages } : {}),
    byFormat: groupBy(runs, (run) => run.format, baselineNames),
    byCategory: groupBy(runs, (run) => run.goldCategory, baselineNames),
    ...(categorized.length
      ? {
          categories: {
            runs: categorized.length,
            accuracy: categorized.filter((run) => run.predictedCategory === run.goldCategory).length / categorized.length,
            confusion: confusion(categorized.map((run) => ({ gold: run.goldCategory!, predicted: run.predictedCategory ?? "(error)" }))),
          },
        }
      : {}),
    replay: {
      runs: ok.length,
      valid: ok.filter((run) => run.replayProblems.length === 0).length,
      problems: ok.filter((run) => run.replayProblems.length > 0).map((run) => ({ id: run.id, problems: run.replayProblems })),
    },
  };
}

/** Score one predictor over all labelled runs; a run that failed to analyze counts as a miss, not as absent. */
export function score(runs: EvalRun[], pick: (run: EvalRun) => StepPrediction): Scores {
  const labelled = runs.filter((run) => run.hasOnsetLabel);
  const pairs = (field: "incorrect" | "unuseful") => labelled.map((run) => ({ predicted: pick(run)[field], gold: run.gold[field] }));
  return {
    onset: onsetScores(labelled.map((run) => ({ predicted: pick(run).onset, gold: run.gold.onset }))),
    incorrect: { macro: macroPRF(pairs("incorrect")), micro: microPRF(pairs("incorrect")) },
    unuseful: { macro: macroPRF(pairs("unuseful")), micro: microPRF(pairs("unuseful")) },
  };
}

function stageScores(runs: EvalRun[]): StageScores | undefined {
  const segmented = runs.filter((run) => run.stages);
  if (segmented.length === 0) return undefined;
  const projected: Record<string, number> = {};
  for (const run of segmented) if (run.stages!.unit !== "steps") projected[run.stages!.unit] = (projected[run.stages!.unit] ?? 0) + 1;
  type Boundaries = (run: EvalRun) => number[];
  const f1 = (predicted: Boundaries, gold: Boundaries, tolerance: number) => meanPRF(segmented.map((run) => boundaryPRF(predicted(run), gold(run), tolerance)));
  const both = (predicted: Boundaries) => ({
    exact: f1(predicted, (run) => run.stages!.gold, 0),
    within1: f1(predicted, (run) => run.stages!.gold, 1),
    raw: { exact: f1(predicted, (run) => run.stages!.raw, 0), within1: f1(predicted, (run) => run.stages!.raw, 1) },
  });
  return {
    runs: segmented.length,
    ...both((run) => run.stages!.predicted),
    everyTwo: both((run) => run.stages!.everyTwo),
    projected,
  };
}

function groupBy(runs: EvalRun[], key: (run: EvalRun) => string | undefined, baselineNames: string[]): Record<string, GroupScores> {
  const groups = new Map<string, EvalRun[]>();
  for (const run of runs.filter((candidate) => candidate.hasOnsetLabel)) {
    const name = key(run);
    if (name !== undefined) groups.set(name, [...(groups.get(name) ?? []), run]);
  }
  const result: Record<string, GroupScores> = {};
  for (const [name, members] of [...groups].sort(([a], [b]) => a.localeCompare(b))) {
    const best = baselineNames
      .map((baseline) => ({ name: baseline, exact: score(members, (run) => run.baselines[baseline] ?? NO_PREDICTION).onset.exact }))
      .sort((a, b) => b.exact - a.exact)[0] ?? { name: "-", exact: 0 };
    const withCategory = members.filter((run) => run.goldCategory);
    result[name] = {
      runs: members.length,
      system: score(members, (run) => run.predicted).onset,
      bestBaseline: best,
      ...(withCategory.length ? { categoryAccuracy: withCategory.filter((run) => run.predictedCategory === run.goldCategory).length / withCategory.length } : {}),
    };
  }
  return result;
}
