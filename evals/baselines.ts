import { stepFacts } from "../analysis/classify.js";
import { failingChecksOf, type FailingCheck } from "../analysis/checks.js";
import { isErrorStep } from "../analysis/progress.js";
import { isAgent } from "../analysis/provenance.js";
import { isTarget, targetsOf } from "../analysis/targets.js";
import type { Step } from "../schema/step.js";
import type { Outcome } from "../schema/trace.js";
import type { StepPrediction } from "./metrics.js";

/** What a baseline may look at: the steps, and the run's outcome and task for the check-aware ones. */
export interface BaselineInput {
  steps: Step[];
  outcome?: Outcome | undefined;
  task?: string | undefined;
  checks?: FailingCheck[] | undefined;
}

const firstAgentStep = ({ steps }: BaselineInput) => steps.find(isAgent)?.id ?? null;

/**
 * Single-rule baselines, one onset guess each (the onset is then the only incorrect step). The last
 * two are the strongest single rules the issue names: the first garbled call, and the first state
 * change touching a path a failing check names (given its best chance: paths the task names count
 * too, and a module a check imports names its file).
 */
export const BASELINES: Record<string, (input: BaselineInput) => number | null> = {
  "first agent step": firstAgentStep,
  "first error step": (input) => input.steps.find((step) => isAgent(step) && isErrorStep(step))?.id ?? firstAgentStep(input),
  "last step": ({ steps }) => steps[steps.length - 1]?.id ?? null,
  "first malformed call": (input) => input.steps.find((step) => isAgent(step) && step.tool && stepFacts(step).malformed)?.id ?? firstAgentStep(input),
  "first checked-path change": (input) => {
    const targets = targetsOf(input.task, input.checks ?? failingChecksOf(input.outcome));
    const touching = input.steps.find((step) => {
      if (!isAgent(step) || !step.tool) return false;
      const facts = stepFacts(step);
      return facts.kind === "change" && facts.writes.some((file) => isTarget(file, targets));
    });
    return touching?.id ?? firstAgentStep(input);
  },
};

export function baselinePrediction(name: string, input: BaselineInput): StepPrediction {
  const onset = BASELINES[name]!(input);
  return { onset, incorrect: onset === null ? [] : [onset], unuseful: [] };
}
