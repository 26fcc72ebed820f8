import { stepFacts } from "../analysis/classify.js";
import { stageModelFor } from "../analysis/granularity.js";
import { segmentStages } from "../analysis/stages.js";
import { buildTraceTree } from "../analysis/tree.js";
import type { DiagnoseStateType, DiagnoseUpdate } from "../graphs/state.js";

/** Classify every step (explore/change/verify/message/other), cut stages, and build the trace tree. */
export async function buildTree(state: DiagnoseStateType): Promise<DiagnoseUpdate> {
  const facts = state.steps.map(stepFacts);
  const steps = state.steps.map((step, index) => ({ ...step, kind: facts[index]!.kind }));
  const stages = segmentStages(steps, facts, stageModelFor(state.runInfo?.format ?? "", steps));
  return { steps, stages, tree: buildTraceTree(steps, stages) };
}
