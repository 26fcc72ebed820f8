import type { Diagnosis, Evidence, FailureCategory } from "../schema/diagnosis.js";
import type { Step } from "../schema/step.js";
import type { Outcome, Stage } from "../schema/trace.js";
import { stepFacts } from "./classify.js";
import { collectSignals, type Signal, type SignalKind } from "./evidence.js";
import { stageOf } from "./stages.js";

/** A localizer's answer before the critic has seen it. */
export type Proposal = Omit<Diagnosis, "strategy" | "cost" | "critique" | "cases_used">;

/** What the critic asks of the next proposal. */
export interface Constraints {
  /** The onset must not come after this step. */
  notAfter?: number;
  /** These steps may not be the onset. */
  exclude?: number[];
}

/** How strongly each kind of signal marks a step as the decisive error, and the category it implies. */
const ONSET_SIGNALS: Partial<Record<SignalKind, { confidence: number; category: FailureCategory }>> = {
  malformed_call: { confidence: 0.6, category: "tool_misuse" },
  failing_check_link: { confidence: 0.5, category: "wrong_hypothesis_or_algorithm" },
  error_observation: { confidence: 0.4, category: "other" },
};

export interface LocalizeInput {
  steps: Step[];
  stages: Stage[];
  outcome: Outcome | undefined;
}

/** Offline localizer: the earliest agent step with strong evidence against it is the onset. */
export function localizeOffline({ steps, stages, outcome }: LocalizeInput, constraints: Constraints = {}): Proposal {
  const failed = outcome?.status === "failed" ? true : outcome?.status === "passed" ? false : null;
  const signals = collectSignals(steps, steps.map(stepFacts), outcome);
  const unusefulFromRepeats = unique(signals.filter((signal) => signal.signal === "repeated_call").map((signal) => signal.step_id));
  if (failed === false) {
    return { failed, onset: null, incorrect_step_ids: [], unuseful_step_ids: unusefulFromRepeats, error_chain: [], failure_category: "none", evidence: signals.map(toEvidence) };
  }
  const strong = signals.filter((signal) => ONSET_SIGNALS[signal.signal] && allowed(signal.step_id, constraints));
  const onsetSignal = strong[0];
  const incorrect = unique(signals.filter((signal) => signal.signal === "malformed_call" || signal.signal === "failing_check_link").map((signal) => signal.step_id));
  if (!onsetSignal) {
    return { failed, onset: null, incorrect_step_ids: incorrect, unuseful_step_ids: unusefulFromRepeats.filter((id) => !incorrect.includes(id)), error_chain: [], failure_category: "other", evidence: signals.map(toEvidence) };
  }
  const onsetId = onsetSignal.step_id;
  const incorrectWithOnset = unique([onsetId, ...incorrect]);
  const symptom = lastActionStep(steps);
  const chain = unique([onsetId, ...incorrectWithOnset.filter((id) => id > onsetId), ...(symptom && symptom > onsetId ? [symptom] : [])]);
  const { confidence, category } = ONSET_SIGNALS[onsetSignal.signal]!;
  return {
    failed,
    onset: {
      step_id: onsetId,
      stage_id: stageOf(stages, onsetId)?.id ?? 1,
      confidence: failed === null ? confidence / 2 : confidence,
      summary: `Step ${onsetId}: ${onsetSignal.why}`,
    },
    incorrect_step_ids: incorrectWithOnset,
    unuseful_step_ids: unusefulFromRepeats.filter((id) => !incorrectWithOnset.includes(id)),
    error_chain: chain,
    failure_category: category,
    evidence: signals.map(toEvidence),
  };
}

function allowed(stepId: number, constraints: Constraints): boolean {
  if (constraints.notAfter !== undefined && stepId > constraints.notAfter) return false;
  return !constraints.exclude?.includes(stepId);
}

function lastActionStep(steps: Step[]): number | undefined {
  for (let index = steps.length - 1; index >= 0; index -= 1) if (steps[index]!.tool) return steps[index]!.id;
  return undefined;
}

function toEvidence(signal: Signal): Evidence {
  return { step_id: signal.step_id, why: signal.why, signal: signal.signal };
}

function unique(ids: number[]): number[] {
  return [...new Set(ids)].sort((a, b) => a - b);
}
