import { DEFAULT_WEIGHTS } from "../analysis/scoring.js";
import type { Diagnosis, Evidence } from "../schema/diagnosis.js";

/** Plain-language names of the evidence kinds, for people reading a report. */
export const SIGNAL_LABELS: Record<string, string> = {
  target_origin: "first step making what the checks test",
  target_write: "reworks what the checks test",
  first_implementation: "first implementation step",
  malformed_call: "garbled call",
  missing_dependency: "missing dependency",
  workaround_fabrication: "stand-in for the real thing",
  interactive_misuse: "interactive program in a non-interactive tool",
  session_bound_service: "service tied to the agent's session",
  derailment_start: "start of a stuck tail",
  unverified_completion: "completion claimed",
  empty_turn: "empty turn",
  error_observation: "error",
  unfinished_call: "call cut off",
  repeated_call: "repeated call",
  overwritten_edit: "overwritten later",
  reverted_edit: "reverted later",
  unused_artifact: "never used",
  fruitless_call: "gathered nothing",
  llm_localizer: "LLM localizer",
  memory_prior: "like a remembered failure",
  memory_calibration: "as remembered annotators label such steps",
};

/** How much an evidence item counts toward calling its step the onset (the offline scoring model's weight). */
export function evidenceWeight(item: Pick<Evidence, "signal">): number {
  return DEFAULT_WEIGHTS[item.signal as keyof typeof DEFAULT_WEIGHTS] ?? 0;
}

/** The steps with the most evidence against them, best first: why the onset won, and what came close. */
export function rankedSuspects(diagnosis: Diagnosis, limit = 3): { step_id: number; weight: number; items: Evidence[] }[] {
  const byStep = new Map<number, Evidence[]>();
  for (const item of diagnosis.evidence) byStep.set(item.step_id, [...(byStep.get(item.step_id) ?? []), item]);
  return [...byStep]
    .map(([step_id, items]) => ({ step_id, items, weight: items.reduce((sum, item) => sum + evidenceWeight(item), 0) }))
    .filter((entry) => entry.weight > 0)
    .sort((a, b) => b.weight - a.weight || a.step_id - b.step_id)
    .slice(0, limit);
}
