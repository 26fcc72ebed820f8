import { boundaryPRF, confusion, macroPRF, meanPRF, microPRF, onsetScores, type OnsetScores, type PRF, type StepPrediction } from "./metrics.js";
import type { StageModel } from "../analysis/stageModel.js";
import type { EvalRun } from "./run.js";
import type { StageEval } from "./stageEval.js";
import { learnStageModels, twoFoldPredictions } from "./stageLearning.js";

/** Stage models per dialect (the table analysis/stageLengths.ts holds), learned from the runs' gold stages. */
export function learnStageLengths(runs: EvalRun[]): Record<string, StageModel> {
  return learnStageModels(runs.flatMap((run) => (run.stages ? [run.stages] : [])));
}

export interface Scores {
  onset: OnsetScores;
  incorrect: { macro: PRF; micro: PRF };
  unuseful: { macro: PRF; micro: PRF };
}

/** Boundary F1, exact and within ±1 step, of one segmentation against the gold. */
export interface BoundaryScores {
  exact: PRF;
  within1: PRF;
}

/**
 * Stage boundary F1 (macro over runs), exact and within ±1 step, against the gold projected onto
 * the extracted steps, over the runs whose annotation fits their extracted steps (all of a manifest's).
 */
export interface StageScores extends BoundaryScores {
  runs: number;
  /** Against the gold numbers as annotated (no projection). */
  raw: BoundaryScores;
  /** The trivial baseline, a boundary every 2 steps, scored the same ways. */
  everyTwo: BoundaryScores & { raw: BoundaryScores };
  /** Out of sample: each half of the runs segmented with stage models learned on the other half. */
  twoFold?: BoundaryScores;
  /** Per framework (the top two folders of a run's path, e.g. `terminus2/OpenAI__GPT-5`), else per format. */
  byGroup: Record<string, { runs: number; system: BoundaryScores; everyTwo: BoundaryScores }>;
  /** Every run with a gold segmentation, including those whose annotation does not fit (`unfit` of them). */
  all: { runs: number; unfit: number; system: BoundaryScores; everyTwo: BoundaryScores };
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
  categories?: {
    runs: number;
    accuracy: number;
    confusion: ReturnType<typeof confusion>;
    /** The trivial baseline: always answering the set's most common gold category (it peeks at the gold, so it is generous). */
    mostCommon: { category: string; accuracy: number };
    /** How often a second annotator (eval --annotator) chose the gold category, over the runs both labelled. */
    secondAnnotator?: { runs: number; accuracy: number };
  };
  replay: { runs: number; valid: number; problems: { id: string; problems: string[] }[] };
}

const NO_PREDICTION: StepPrediction = { onset: null, incorrect: [], unuseful: [] };

/** The row of `eval --annotator`: another person's labels of the same runs, scored like a predictor. */
export const SECOND_ANNOTATOR = "second annotator";

export function scoreEval(runs: EvalRun[], baselineNames: string[]): EvalSummary {
  const baselines: Record<string, Scores> = {};
  for (const name of baselineNames) baselines[name] = score(runs, (run) => run.baselines[name] ?? NO_PREDICTION);
  const categorized = runs.filter((run) => run.hasOnsetLabel && run.goldCategory);
  const ok = runs.filter((run) => run.status === "ok");
  const stages = stageScores(runs);
  const trivial = baselineNames.filter((name) => name !== SECOND_ANNOTATOR);
  const annotated = categorized.filter((run) => run.annotatorCategory);
  return {
    system: score(runs, (run) => run.predicted),
    baselines,
    ...(stages ? { stages } : {}),
    // A second annotator is an agreement ceiling, not a trivial baseline: it is never the "best baseline".
    byFormat: groupBy(runs, (run) => run.format, trivial),
    byCategory: groupBy(runs, (run) => run.goldCategory, trivial),
    ...(categorized.length
      ? {
          categories: {
            runs: categorized.length,
            accuracy: categorized.filter((run) => run.predictedCategory === run.goldCategory).length / categorized.length,
            confusion: confusion(categorized.map((run) => ({ gold: run.goldCategory!, predicted: run.predictedCategory ?? "(error)" }))),
            mostCommon: mostCommonCategory(categorized.map((run) => run.goldCategory!)),
            ...(annotated.length ? { secondAnnotator: { runs: annotated.length, accuracy: annotated.filter((run) => run.annotatorCategory === run.goldCategory).length / annotated.length } } : {}),
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

function mostCommonCategory(gold: string[]): { category: string; accuracy: number } {
  const counts = new Map<string, number>();
  for (const category of gold) counts.set(category, (counts.get(category) ?? 0) + 1);
  // Ties go to the alphabetically first category, so the baseline does not depend on the manifest's order.
  const [category, count] = [...counts].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))[0]!;
  return { category, accuracy: count / gold.length };
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

type Segmented = EvalRun & { stages: StageEval };

function stageScores(runs: EvalRun[]): StageScores | undefined {
  const all = runs.filter((run): run is Segmented => run.stages !== undefined);
  const fitting = all.filter((run) => run.stages.fits);
  if (fitting.length === 0) return undefined;
  const projected: Record<string, number> = {};
  for (const run of fitting) if (run.stages.unit !== "steps") projected[run.stages.unit] = (projected[run.stages.unit] ?? 0) + 1;
  const twoFold = fitting.length >= 4 ? twoFoldPredictions(fitting) : undefined;
  const groups = new Map<string, Segmented[]>();
  for (const run of fitting) groups.set(groupOf(run), [...(groups.get(groupOf(run)) ?? []), run]);
  return {
    runs: fitting.length,
    ...boundaryScores(fitting, (run) => run.stages.predicted),
    raw: boundaryScores(fitting, (run) => run.stages.predicted, (run) => run.stages.raw),
    everyTwo: { ...boundaryScores(fitting, (run) => run.stages.everyTwo), raw: boundaryScores(fitting, (run) => run.stages.everyTwo, (run) => run.stages.raw) },
    ...(twoFold ? { twoFold: boundaryScores(fitting, (run) => twoFold.get(run.id) ?? []) } : {}),
    byGroup: Object.fromEntries(
      [...groups].sort(([a], [b]) => a.localeCompare(b)).map(([name, members]) => [
        name,
        { runs: members.length, system: boundaryScores(members, (run) => run.stages.predicted), everyTwo: boundaryScores(members, (run) => run.stages.everyTwo) },
      ]),
    ),
    all: { runs: all.length, unfit: all.length - fitting.length, system: boundaryScores(all, (run) => run.stages.predicted), everyTwo: boundaryScores(all, (run) => run.stages.everyTwo) },
    projected,
  };
}

function boundaryScores(runs: Segmented[], predicted: (run: Segmented) => number[], gold: (run: Segmented) => number[] = (run) => run.stages.gold): BoundaryScores {
  const f1 = (tolerance: number) => meanPRF(runs.map((run) => boundaryPRF(predicted(run), gold(run), tolerance)));
  return { exact: f1(0), within1: f1(1) };
}

/** A run of a folder is grouped by its top two folders (framework/model), a manifest's by format. */
function groupOf(run: Segmented): string {
  if (run.stages.source === "manifest") return run.format;
  const parts = run.id.split("/");
  return parts.length > 2 ? parts.slice(0, 2).join("/") : run.format;
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

/** The columns of a score row, as shares 0..1, in the order the text table and the HTML page show them. */
export function scoreColumns(scores: Scores): number[] {
  return [
    scores.onset.exact,
    ...Object.values(scores.onset.within),
    scores.incorrect.macro.precision,
    scores.incorrect.macro.recall,
    scores.incorrect.macro.f1,
    scores.incorrect.micro.f1,
    scores.unuseful.macro.f1,
    scores.unuseful.micro.f1,
  ];
}
