import type { Step } from "../schema/step.js";
import type { StepPrediction } from "./metrics.js";

const isAgent = (step: Step) => step.actor === "agent" || step.actor === "assistant";
const isError = (step: Step) => !!step.observation && (step.observation.is_error === true || (step.observation.exit_code ?? 0) !== 0);

/** Trivial baselines: one onset guess each, with the onset as the only incorrect step. */
export const BASELINES: Record<string, (steps: Step[]) => number | null> = {
  "first agent step": (steps) => steps.find(isAgent)?.id ?? null,
  "first error step": (steps) => steps.find((step) => isAgent(step) && isError(step))?.id ?? steps.find(isAgent)?.id ?? null,
  "last step": (steps) => steps[steps.length - 1]?.id ?? null,
};

export function baselinePrediction(name: string, steps: Step[]): StepPrediction {
  const onset = BASELINES[name]!(steps);
  return { onset, incorrect: onset === null ? [] : [onset], unuseful: [] };
}
