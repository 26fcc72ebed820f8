import type { Step } from "../schema/step.js";
import type { Stage, StageLabel } from "../schema/trace.js";
import type { StepFacts } from "./classify.js";
import { normalizePath } from "./targets.js";

/**
 * Unsupervised stage segmentation. Every gap between two steps gets a score for how much the agent's
 * purpose changes there (a new purpose, a switch between exploring, changing and checking, a freshly
 * stated plan, a new set of files, a fix after an error). Then the best-scoring gaps become stage
 * boundaries: every clear change of purpose, and at least as many as the expected stage length of this
 * kind of run asks for (learned from annotated runs, analysis/granularity.ts), spread out so that
 * stages do not bunch up.
 */
export function segmentStages(steps: Step[], facts: StepFacts[], expectedStageLength?: number): Stage[] {
  if (steps.length === 0) return [];
  const purposes = stepPurposes(steps, facts);
  const scores = gapScores(steps, facts, purposes);
  // Every clear change of purpose is a boundary; the learned length sets how fine the cut must at least be.
  const natural = scores.filter((score) => score >= 1).length;
  const floor = expectedStageLength ? Math.round(steps.length / expectedStageLength) - 1 : 0;
  const count = Math.max(natural, floor);
  const cuts = chooseCuts(scores, Math.min(count, steps.length - 1), expectedStageLength ?? 1);
  const stages: Stage[] = [];
  let start = 0;
  for (const end of [...cuts, steps.length]) {
    stages.push({ id: stages.length + 1, start_step_id: steps[start]!.id, end_step_id: steps[end - 1]!.id, label: majority(purposes.slice(start, end)) });
    start = end;
  }
  return stages;
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

/** Score of the gap before step `index` (index 0 has no gap and scores 0). */
function gapScores(steps: Step[], facts: StepFacts[], purposes: StageLabel[]): number[] {
  const scores = new Array<number>(steps.length).fill(0);
  for (let index = 1; index < steps.length; index += 1) {
    const [before, after] = [steps[index - 1]!, steps[index]!];
    const [was, is] = [facts[index - 1]!, facts[index]!];
    let score = 0;
    if (purposes[index] !== purposes[index - 1]) score += 1;
    if (actionKind(was) !== actionKind(is)) score += 0.5;
    if (before.actor !== after.actor) score += 0.5;
    if (!after.tool && (after.text ?? "").trim().length > 40) score += 0.3;
    if (before.observation && (before.observation.is_error || (before.observation.exit_code ?? 0) !== 0) && is.kind === "change") score += 0.3;
    if (disjointFiles(was, is)) score += 0.3;
    scores[index] = score;
  }
  return scores;
}

function actionKind(facts: StepFacts): string {
  return facts.kind === "message" || facts.kind === "other" ? "none" : facts.kind;
}

function disjointFiles(was: StepFacts, is: StepFacts): boolean {
  const before = new Set([...was.reads, ...was.writes].map(normalizePath));
  const after = [...is.reads, ...is.writes].map(normalizePath);
  return before.size > 0 && after.length > 0 && after.every((file) => !before.has(file));
}

/** How much being a full stage length away from other boundaries is worth, next to a change of purpose (1). */
const SPREAD = 1;

/**
 * Pick `count` gaps: the best-scoring first, each one scored up a little for being far from the gaps
 * already chosen (up to one expected stage length away), so that equal scores spread out evenly.
 */
function chooseCuts(scores: number[], count: number, spacing: number): number[] {
  const chosen: number[] = [];
  const available = new Set(scores.map((_, index) => index).filter((index) => index > 0));
  for (let round = 0; round < count && available.size > 0; round += 1) {
    let best = -1;
    let bestValue = -Infinity;
    for (const index of available) {
      const distance = chosen.length === 0 ? spacing : Math.min(...chosen.map((cut) => Math.abs(cut - index)));
      const value = scores[index]! + SPREAD * Math.min(distance, spacing) / spacing;
      if (value > bestValue) {
        best = index;
        bestValue = value;
      }
    }
    chosen.push(best);
    available.delete(best);
  }
  return chosen.sort((a, b) => a - b);
}

function majority(labels: StageLabel[]): StageLabel {
  const counts = new Map<StageLabel, number>();
  for (const label of labels) counts.set(label, (counts.get(label) ?? 0) + 1);
  return [...counts].sort((a, b) => b[1] - a[1])[0]![0];
}

export function stageOf(stages: Stage[], stepId: number): Stage | undefined {
  return stages.find((stage) => stage.start_step_id <= stepId && stepId <= stage.end_step_id);
}
