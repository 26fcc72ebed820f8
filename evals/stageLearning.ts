import { modelForDialect } from "../analysis/granularity.js";
import { stageBoundaries } from "../analysis/stages.js";
import { StageModel } from "../analysis/stageModel.js";
import { alignToUnits } from "./referenceStages.js";
import type { StageEval } from "./stageEval.js";

/** Fewest annotated runs a batched dialect needs to get a model of its own. */
const MIN_RUNS = 5;
/** Length table size: P(1) … P(LENGTH_BINS − 1) and the mass of every longer stage. */
const LENGTH_BINS = 24;
/** Added to every length count, so that no length is impossible. */
const LENGTH_SMOOTHING = 0.5;

/**
 * A stage model per dialect, learned from the runs whose annotation fits their extracted steps:
 * the share of gaps that are boundaries, a logistic calibration of the boundary evidence, and the
 * distribution of stage lengths (analysis/stageModel.ts).
 */
export function learnStageModels(runs: StageEval[]): Record<string, StageModel> {
  const byDialect = new Map<string, StageEval[]>();
  const add = (dialect: string, members: StageEval[]) => byDialect.set(dialect, [...(byDialect.get(dialect) ?? []), ...members]);
  for (const run of runs) if (run.fits && run.steps > 0) add(run.dialect, [run]);
  // A batched variant seen in too few runs is learned together with its plain dialect.
  for (const [dialect, members] of [...byDialect]) {
    const plain = dialect.replace(/\+batched$/, "");
    if (plain !== dialect && members.length < MIN_RUNS) {
      byDialect.delete(dialect);
      add(plain, members);
    }
  }
  const models: Record<string, StageModel> = {};
  for (const [dialect, members] of [...byDialect].sort(([a], [b]) => a.localeCompare(b))) models[dialect] = learnStageModel(members);
  return models;
}

export function learnStageModel(runs: StageEval[]): StageModel {
  const gaps = runs.flatMap(annotatedGaps);
  const boundaries = gaps.filter((gap) => gap.boundary).length;
  const rate = clamp((boundaries + 0.5) / (gaps.length + 1), 0.001, 0.999);
  const { offset, scale } = logisticFit(gaps, rate);
  const lengths = runs.flatMap(stageLengths);
  const counts = new Array<number>(LENGTH_BINS).fill(LENGTH_SMOOTHING);
  for (const length of lengths) counts[Math.min(length, LENGTH_BINS) - 1]! += 1;
  const total = counts.reduce((sum, count) => sum + count, 0);
  const longer = lengths.filter((length) => length >= LENGTH_BINS).map((length) => length - LENGTH_BINS);
  const meanExcess = longer.length > 0 ? longer.reduce((sum, excess) => sum + excess, 0) / longer.length : 1;
  const model = StageModel.parse({
    offset,
    scale,
    rate: round(rate),
    lengths: counts.map((count) => round(count / total, 5)),
    tail: round(clamp(meanExcess / (1 + meanExcess), 0.05, 0.99)),
    runs: runs.length,
    stages: lengths.length,
  });
  return { ...model, offset: round(model.offset), scale: round(model.scale) };
}

interface Gap {
  evidence: number;
  boundary: boolean;
}

/** Gaps the annotation speaks about: all of them, or only those before a step holding an annotated unit. */
function annotatedGaps(run: StageEval): Gap[] {
  const gold = new Set(run.gold);
  const gaps: Gap[] = [];
  for (let index = 1; index < run.stepIds.length; index += 1) {
    if (run.holdsUnit && !run.holdsUnit[index]) continue;
    gaps.push({ evidence: run.evidence[index]!, boundary: gold.has(run.stepIds[index]!) });
  }
  return gaps;
}

/** Lengths in steps of the gold stages (boundaries past the extracted steps are ignored). */
function stageLengths(run: StageEval): number[] {
  const index = new Map(run.stepIds.map((id, position) => [id, position]));
  const starts = [0, ...run.gold.map((id) => index.get(id)).filter((position): position is number => position !== undefined && position > 0), run.stepIds.length];
  const sorted = [...new Set(starts)].sort((a, b) => a - b);
  return sorted.slice(1).map((end, position) => end - sorted[position]!).filter((length) => length > 0);
}

/** Ridge penalty on the scale: a handful of runs whose boundaries the evidence separates perfectly must not make it infinite. */
const SCALE_RIDGE = 1;

/**
 * P(boundary | evidence) = σ(offset + scale × evidence) by Newton's method, with a ridge penalty on
 * the scale. The scale is kept non-negative: evidence that a dialect's annotators ignore gets no
 * weight, never an inverted one.
 */
function logisticFit(gaps: Gap[], rate: number): { offset: number; scale: number } {
  let offset = Math.log(rate / (1 - rate));
  let scale = 0;
  for (let iteration = 0; iteration < 50; iteration += 1) {
    let [gOffset, gScale, hOO, hOS, hSS] = [0, SCALE_RIDGE * scale, 1e-6, 0, SCALE_RIDGE];
    for (const { evidence, boundary } of gaps) {
      const p = 1 / (1 + Math.exp(-(offset + scale * evidence)));
      const residual = p - (boundary ? 1 : 0);
      const weight = p * (1 - p);
      gOffset += residual;
      gScale += residual * evidence;
      hOO += weight;
      hOS += weight * evidence;
      hSS += weight * evidence * evidence;
    }
    const determinant = hOO * hSS - hOS * hOS;
    if (Math.abs(determinant) < 1e-12) break;
    const stepOffset = (hSS * gOffset - hOS * gScale) / determinant;
    const stepScale = (hOO * gScale - hOS * gOffset) / determinant;
    offset -= stepOffset;
    scale -= stepScale;
    if (Math.abs(stepOffset) + Math.abs(stepScale) < 1e-9) break;
  }
  if (scale < 0 || !Number.isFinite(scale)) return { offset: Math.log(rate / (1 - rate)), scale: 0 };
  return { offset, scale };
}

/**
 * Out-of-sample predictions: the runs are split in two halves (alternately, in id order); each
 * half is segmented with the stage models learned on the other half, from the boundary evidence
 * stored with each run. Returns predicted boundaries (step ids, seen in the annotation's units).
 */
export function twoFoldPredictions(runs: { id: string; stages: StageEval }[]): Map<string, number[]> {
  const ordered = [...runs].sort((a, b) => a.id.localeCompare(b.id));
  const folds = [ordered.filter((_, index) => index % 2 === 0), ordered.filter((_, index) => index % 2 === 1)];
  const predictions = new Map<string, number[]>();
  folds.forEach((fold, index) => {
    const models = learnStageModels(folds[1 - index]!.map((run) => run.stages));
    for (const run of fold) predictions.set(run.id, predictWith(models, run.stages));
  });
  return predictions;
}

/** Segment one run from its stored evidence with a table of stage models (as analysis/granularity.ts picks one). */
export function predictWith(models: Record<string, StageModel>, run: StageEval): number[] {
  if (Object.keys(models).length === 0) return [];
  const cuts = stageBoundaries(run.evidence, modelForDialect(run.dialect, models));
  return alignToUnits(cuts.map((index) => run.stepIds[index]!), run.stepIds, run.holdsUnit);
}

function clamp(value: number, low: number, high: number): number {
  return Math.min(high, Math.max(low, value));
}

function round(value: number, digits = 4): number {
  const factor = 10 ** digits;
  return Math.round(value * factor) / factor;
}
