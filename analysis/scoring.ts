import type { RunContext, Signal, SignalKind } from "./evidence.js";
import { isAgent } from "./provenance.js";

/**
 * How much each kind of evidence says "this is where the run went wrong". A step's score is the sum
 * over its signals; the onset is the best-scoring agent step (the earliest on a tie). The weights
 * encode three ideas, in this order of strength:
 *  - what the failing checks test was first made here, or the failure names this step's mistake
 *    (a garbled install of the module the checks miss, a fake stand-in, a misused tool): 3;
 *  - the run got stuck here and never made progress again: 2, plus 2 more when that is why the
 *    checked result was never made at all;
 *  - a garbled call here: 1; smaller hints (errors, calls cut off, empty turns) break ties.
 * Signals that only describe consequences (repeats, rewrites, unused files) weigh nothing for the onset.
 */
export const DEFAULT_WEIGHTS: Record<SignalKind, number> = {
  target_origin: 3,
  missing_dependency: 3,
  workaround_fabrication: 3,
  interactive_misuse: 3,
  session_bound_service: 3,
  derailment_start: 2,
  first_implementation: 1.5,
  malformed_call: 1,
  target_write: 0.5,
  unverified_completion: 1,
  empty_turn: 0.5,
  error_observation: 0.25,
  unfinished_call: 0.25,
  repeated_call: 0,
  overwritten_edit: 0,
  reverted_edit: 0,
  unused_artifact: 0,
  fruitless_call: 0,
};

/** Extra weight for a derailment that explains why the checked result was never made. */
export const NEVER_MADE_BONUS = 2;

export interface ScoringModel {
  weights: Record<SignalKind, number>;
  neverMadeBonus: number;
  /**
   * Optional prior belief per step (e.g. from similar past failures in memory), added to the score.
   * The seam for memory-based localization; offline default is none.
   */
  priors?: (stepId: number) => number;
}

export const DEFAULT_MODEL: ScoringModel = { weights: DEFAULT_WEIGHTS, neverMadeBonus: NEVER_MADE_BONUS };

export interface StepScore {
  step_id: number;
  score: number;
  signals: Signal[];
}

/** Score every agent step that has evidence; best first (earliest first on ties). */
export function scoreSteps(context: RunContext, signals: Signal[], model: ScoringModel = DEFAULT_MODEL): StepScore[] {
  const byStep = new Map<number, Signal[]>();
  for (const signal of signals) byStep.set(signal.step_id, [...(byStep.get(signal.step_id) ?? []), signal]);
  const agentIds = new Set(context.steps.filter(isAgent).map((step) => step.id));
  const neverMade = !context.provenance.touchedTargets && (context.targets.paths.length > 0 || context.targets.modules.length > 0);
  const scores: StepScore[] = [];
  for (const [stepId, stepSignals] of byStep) {
    if (!agentIds.has(stepId)) continue;
    let score = stepSignals.reduce((sum, signal) => sum + model.weights[signal.signal], 0);
    if (neverMade && stepSignals.some((signal) => signal.signal === "derailment_start")) score += model.neverMadeBonus;
    score += model.priors?.(stepId) ?? 0;
    scores.push({ step_id: stepId, score, signals: stepSignals });
  }
  if (model.priors) {
    for (const stepId of agentIds) {
      const prior = model.priors(stepId);
      if (prior > 0 && !byStep.has(stepId)) scores.push({ step_id: stepId, score: prior, signals: [] });
    }
  }
  return scores.filter((entry) => entry.score > 0).sort((a, b) => b.score - a.score || a.step_id - b.step_id);
}
