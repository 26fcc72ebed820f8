import { boundaryEvidence } from "../analysis/boundaryEvidence.js";
import { stepFacts } from "../analysis/classify.js";
import { dialectOf } from "../analysis/granularity.js";
import { stepPurposes } from "../analysis/stages.js";
import type { Analysis } from "../graphs/analyze.js";
import type { ManifestRecord } from "./manifest.js";
import { boundariesOf } from "./metrics.js";
import { alignToUnits, projectReferenceStages, type ReferenceUnit } from "./referenceStages.js";
import { resolveRef } from "./refs.js";

/** One run's stage boundaries (step ids where a stage starts) against its gold segmentation. */
export interface StageEval {
  gold: number[];
  /** Ours, seen in the annotation's units (evals/referenceStages.ts `alignToUnits`). */
  predicted: number[];
  /** The trivial segmentation the issue compares with: a boundary every 2 steps, seen the same way. */
  everyTwo: number[];
  /** Gold boundaries as annotated, before projection onto the extracted steps. */
  raw: number[];
  unit: ReferenceUnit;
  source: "manifest" | "reference";
  /** The annotation describes these extracted steps (see `ProjectedStages.fits`); only such runs are scored and learned from. */
  fits: boolean;
  /** The run's dialect and length. */
  dialect: string;
  steps: number;
  /** What learning and out-of-sample checks need: step ids, boundary evidence per gap, steps holding an annotated unit. */
  stepIds: number[];
  evidence: number[];
  holdsUnit?: boolean[];
}

/**
 * Gold stage boundaries from the manifest's `stages`, else from the extractor's reference stages
 * (projected onto the extracted steps when annotated in another unit, evals/referenceStages.ts).
 */
export function stageEval(record: ManifestRecord, analysis: Analysis): StageEval | undefined {
  const { steps, run, stages } = analysis.trace;
  const predicted = boundariesOf(stages.map((stage) => ({ start: stage.start_step_id, end: stage.end_step_id })));
  const everyTwo = steps.filter((_, index) => index > 0 && index % 2 === 0).map((step) => step.id);
  const facts = steps.map(stepFacts);
  const common = {
    dialect: dialectOf(run.format, steps),
    steps: steps.length,
    stepIds: steps.map((step) => step.id),
    evidence: boundaryEvidence(steps, facts, stepPurposes(steps, facts)).map((score) => Math.round(score * 1000) / 1000),
  };
  if (record.labels.stages?.length) {
    const gold = record.labels.stages
      .map((stage) => ({ start: resolveRef(stage.start, steps), end: resolveRef(stage.end, steps) }))
      .filter((stage): stage is { start: number; end: number } => stage.start !== undefined && stage.end !== undefined);
    const boundaries = boundariesOf(gold);
    return { ...common, predicted, everyTwo, gold: boundaries, raw: boundaries, unit: "steps", source: "manifest", fits: true };
  }
  if (run.reference_stages?.length) {
    const projected = projectReferenceStages(run.reference_stages, steps);
    const align = (boundaries: number[]) => alignToUnits(boundaries, common.stepIds, projected.holdsUnit);
    return {
      ...common,
      predicted: align(predicted),
      everyTwo: align(everyTwo),
      gold: projected.boundaries,
      raw: projected.raw,
      unit: projected.unit,
      source: "reference",
      fits: projected.fits,
      ...(projected.holdsUnit ? { holdsUnit: projected.holdsUnit } : {}),
    };
  }
  return undefined;
}
