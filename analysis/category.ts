import type { FailureCategory } from "../schema/diagnosis.js";
import type { RunContext, Signal } from "./evidence.js";
import { basename, normalizePath } from "./targets.js";

/**
 * The failure category (the labelling protocol's list) follows from what is wrong at the onset:
 * a garbled or misused tool is tool misuse; a stand-in for the real thing or a wrong result is a wrong
 * hypothesis; stopping or claiming success unchecked is premature completion; a run cut off mid-work is
 * budget; a missing package is a dependency problem.
 */
export function categorize(context: RunContext, onsetSignals: Signal[]): FailureCategory {
  const has = (kind: Signal["signal"]) => onsetSignals.some((signal) => signal.signal === kind);
  const onsetIndex = context.steps.findIndex((step) => step.id === onsetSignals[0]?.step_id);
  const onsetFacts = context.facts[onsetIndex];
  if (has("interactive_misuse") || has("session_bound_service")) return "tool_misuse";
  if (has("missing_dependency")) return onsetFacts?.malformed ? "tool_misuse" : "dependency";
  if (has("malformed_call")) return "tool_misuse";
  if (has("workaround_fabrication")) return "wrong_hypothesis_or_algorithm";
  if (has("target_origin") || has("first_implementation")) return mislocalized(context, onsetIndex) ? "mislocalized_edit" : "wrong_hypothesis_or_algorithm";
  if (has("unverified_completion")) return "verification_misread_or_premature_completion";
  if (has("derailment_start")) {
    const shape = context.derailment?.shape;
    if (shape === "stopped") return "verification_misread_or_premature_completion";
    const tail = context.steps.filter((step) => context.derailment && step.id >= context.derailment.start);
    if (shape === "cut_off" || tail.some((step) => step.tool && !step.observation)) return "budget_or_timeout";
    if (onsetFacts?.purpose === "environment_setup") return "environment_setup";
    return "unproductive_looping";
  }
  return "other";
}

/** The onset wrote a file with the name a check expects, but somewhere else than the check looks. */
function mislocalized(context: RunContext, onsetIndex: number): boolean {
  const written = (context.facts[onsetIndex]?.writes ?? []).map(normalizePath).filter((file) => file.startsWith("/"));
  const checked = context.targets.checked.filter((file) => file.startsWith("/"));
  return written.some((file) => checked.some((target) => basename(target) === basename(file) && target !== file) && !checked.includes(file));
}
