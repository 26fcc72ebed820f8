import type { Step } from "../schema/step.js";
import type { Stage, StageLabel } from "../schema/trace.js";
import type { StepFacts } from "./classify.js";

/**
 * Cut the run into stages where the purpose changes. A message step takes the purpose of the action
 * it announces (the next tool step); messages after the last action are finalization. Single-step
 * interruptions between two stages of the same purpose are absorbed, so a stray `ls` in the middle of
 * implementation does not split it.
 */
export function segmentStages(steps: Step[], facts: StepFacts[]): Stage[] {
  if (steps.length === 0) return [];
  const purposes = stepPurposes(steps, facts);
  let runs = toRuns(purposes);
  let changed = true;
  while (changed && runs.length > 2) {
    changed = false;
    for (let index = 1; index < runs.length - 1; index += 1) {
      const [before, middle, after] = [runs[index - 1]!, runs[index]!, runs[index + 1]!];
      if (middle.length === 1 && before.label === after.label) {
        before.length += middle.length + after.length;
        runs.splice(index, 2);
        changed = true;
        break;
      }
    }
  }
  runs = runs.filter((run) => run.length > 0);
  const stages: Stage[] = [];
  let start = 0;
  for (const run of runs) {
    stages.push({ id: stages.length + 1, start_step_id: steps[start]!.id, end_step_id: steps[start + run.length - 1]!.id, label: run.label });
    start += run.length;
  }
  return stages;
}

function stepPurposes(steps: Step[], facts: StepFacts[]): StageLabel[] {
  const purposes: StageLabel[] = new Array(steps.length);
  let next: StageLabel = "finalization";
  for (let index = steps.length - 1; index >= 0; index -= 1) {
    const fact = facts[index]!;
    if (steps[index]!.tool && fact.kind !== "message") next = fact.purpose;
    purposes[index] = steps[index]!.tool && fact.kind !== "message" ? fact.purpose : next;
  }
  return purposes;
}

function toRuns(purposes: StageLabel[]): { label: StageLabel; length: number }[] {
  const runs: { label: StageLabel; length: number }[] = [];
  for (const label of purposes) {
    const last = runs[runs.length - 1];
    if (last && last.label === label) last.length += 1;
    else runs.push({ label, length: 1 });
  }
  return runs;
}

export function stageOf(stages: Stage[], stepId: number): Stage | undefined {
  return stages.find((stage) => stage.start_step_id <= stepId && stepId <= stage.end_step_id);
}
