import type { Step } from "../schema/step.js";
import type { Stage, StageLabel } from "../schema/trace.js";
import { boundaryEvidence } from "./boundaryEvidence.js";
import type { StepFacts } from "./classify.js";
import { chooseBoundaries, DECODING } from "./stageDecoder.js";
import { boundaryPosteriors, sampleSegmentations, type StageModel } from "./stageModel.js";

/**
 * Unsupervised stage segmentation. Every gap between two steps gets evidence for a change of stage
 * (a new purpose or kind of action, a new topic in what the agent says and does, new programs) or
 * against it (a repeated call, waiting, the same topic going on), analysis/boundaryEvidence.ts.
 * The stage model of this kind of run (stage lengths and how far its annotators follow that
 * evidence, learned per dialect: analysis/granularity.ts) turns the evidence into plausible
 * segmentations, and the cut that agrees best with them is kept (analysis/stageDecoder.ts).
 * Each stage is labelled with the purpose most of its steps serve.
 */
export function segmentStages(steps: Step[], facts: StepFacts[], model: StageModel): Stage[] {
  if (steps.length === 0) return [];
  const purposes = stepPurposes(steps, facts);
  const cuts = stageBoundaries(boundaryEvidence(steps, facts, purposes), model);
  const stages: Stage[] = [];
  let start = 0;
  for (const end of [...cuts, steps.length]) {
    stages.push({ id: stages.length + 1, start_step_id: steps[start]!.id, end_step_id: steps[end - 1]!.id, label: majority(purposes.slice(start, end)) });
    start = end;
  }
  return stages;
}

/** Indices of the steps that open a stage (0 excluded), from the boundary evidence of each gap. */
export function stageBoundaries(evidence: number[], model: StageModel): number[] {
  if (evidence.length < 2) return [];
  const samples = sampleSegmentations(evidence, model, DECODING.samples);
  return chooseBoundaries(evidence.length, samples, boundaryPosteriors(evidence, model));
}

/** A message step serves the purpose of the action it announces; messages after the last action finalize. */
export function stepPurposes(steps: Step[], facts: StepFacts[]): StageLabel[] {
  const purposes: StageLabel[] = new Array(steps.length);
  let next: StageLabel = "finalization";
  for (let index = steps.length - 1; index >= 0; index -= 1) {
    const acts = !!steps[index]!.tool && facts[index]!.kind !== "message";
    if (acts) next = facts[index]!.purpose;
    purposes[index] = acts ? facts[index]!.purpose : next;
  }
  return purposes;
}

function majority(labels: StageLabel[]): StageLabel {
  const counts = new Map<StageLabel, number>();
  for (const label of labels) counts.set(label, (counts.get(label) ?? 0) + 1);
  return [...counts].sort((a, b) => b[1] - a[1])[0]![0];
}

export function stageOf(stages: Stage[], stepId: number): Stage | undefined {
  return stages.find((stage) => stage.start_step_id <= stepId && stepId <= stage.end_step_id);
}
