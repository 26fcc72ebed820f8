import type { Diagnosis, Evidence } from "../schema/diagnosis.js";
import type { Step } from "../schema/step.js";
import type { Outcome, Stage } from "../schema/trace.js";
import { categorize } from "./category.js";
import type { FailingCheck } from "./checks.js";
import { stepFeatures, type CalibrationCase } from "./calibration.js";
import { calibrateProposal } from "./calibrationRules.js";
import { buildContext, collectSignals, type RunContext, type Signal } from "./evidence.js";
import { explainTerm, onsetAdjustments, onsetModelFor, type OnsetModel } from "./onsetCalibration.js";
import { memoryPriors, type MemoryPriors, type RecalledCase } from "./priors.js";
import { isAgent } from "./provenance.js";
import { DEFAULT_MODEL, scoreSteps, type ScoringModel, type StepScore } from "./scoring.js";
import { stageOf } from "./stages.js";

/** A localizer's answer before the critic has seen it (`cases_used`: only the calibration cases it learned from). */
export type Proposal = Omit<Diagnosis, "strategy" | "cost" | "critique">;

/** What the critic asks of the next proposal. */
export interface Constraints {
  /** The onset must not come after this step. */
  notAfter?: number;
  /** These steps may not be the onset. */
  exclude?: number[];
  /** These steps were shown to be right after all: they are not incorrect. */
  notIncorrect?: number[];
}

export interface LocalizeInput {
  steps: Step[];
  stages: Stage[];
  outcome: Outcome | undefined;
  task?: string | undefined;
  /** Failing checks with their full reports, when the caller could read them from the run. */
  checks?: FailingCheck[] | undefined;
}

/** Signals that say something is wrong with the step itself (as opposed to what it led to). */
const FAULTS = new Set(["malformed_call", "missing_dependency", "workaround_fabrication", "interactive_misuse", "session_bound_service", "unverified_completion", "empty_turn"]);

/**
 * Offline localizer: score every step on the evidence, take the best as the onset, and explain it.
 * `recalled` are confirmed past failures similar to this run (memory): they add priors on the onset
 * and the category (analysis/priors.ts); `calibration` are confirmed cases of the same kind of agent,
 * whose annotators' conventions recalibrate the incorrect and unuseful steps (analysis/calibrationRules.ts).
 * Without them the result is the evidence alone.
 */
export function localizeOffline(
  input: LocalizeInput,
  constraints: Constraints = {},
  model: ScoringModel = DEFAULT_MODEL,
  recalled: RecalledCase[] = [],
  calibration: CalibrationCase[] = [],
): Proposal {
  const context = buildContext(input);
  const signals = collectSignals(context);
  const evidence = signals.filter((signal) => signal.signal !== "error_observation" || context.failed !== false).map(toEvidence);
  if (context.failed === false) {
    return { failed: false, onset: null, incorrect_step_ids: [], unuseful_step_ids: unique(idsOf(signals, "repeated_call")), error_chain: [], failure_category: "none", evidence };
  }
  const priors = memoryPriors(recalled, context, signals);
  const offlineRanked = scoreSteps(context, signals, withPriors(model, priors)).filter((entry) => allowed(entry.step_id, constraints));
  const learned = learnedOnset(context, evidence, offlineRanked[0], calibration);
  const ranked = learned ? scoreSteps(context, signals, withAdjustments(withPriors(model, priors), learned.adjustments)).filter((entry) => allowed(entry.step_id, constraints)) : offlineRanked;
  const best = ranked[0];
  if (!best) {
    return { failed: context.failed, onset: null, incorrect_step_ids: [], unuseful_step_ids: unusefulSteps(context, signals, undefined), error_chain: [], failure_category: "other", evidence };
  }
  const onsetId = best.step_id;
  const incorrect = incorrectSteps(context, signals, onsetId).filter((id) => id === onsetId || !constraints.notIncorrect?.includes(id));
  const chain = errorChain(context, onsetId, incorrect);
  const proposal: Proposal = {
    failed: context.failed,
    onset: {
      step_id: onsetId,
      stage_id: stageOf(input.stages, onsetId)?.id ?? 1,
      confidence: confidence(best, ranked[1], context.failed),
      summary: `Step ${onsetId}: ${summaryOf(best, priors)}`,
    },
    incorrect_step_ids: incorrect,
    unuseful_step_ids: unusefulSteps(context, signals, onsetId).filter((id) => !incorrect.includes(id)),
    error_chain: chain,
    ...categoryAndEvidence(context, best, evidence, priors),
  };
  const moved = learned && offlineRanked[0] && offlineRanked[0].step_id !== onsetId ? onsetMoved(learned.model, offlineRanked[0].step_id, onsetId) : undefined;
  const withMoved: Proposal = moved ? { ...proposal, evidence: [...proposal.evidence, moved.evidence], cases_used: moved.cases.map((id) => ({ id, similarity: 0, role: "calibration" as const })) } : proposal;
  return withCalibration(withMoved, context, calibration, constraints);
}

/**
 * The onset weighting memory learned from confirmed cases of this kind of agent
 * (analysis/onsetCalibration.ts), as score adjustments per step; undefined when it learned nothing.
 */
function learnedOnset(context: RunContext, evidence: Evidence[], offlineBest: StepScore | undefined, cases: CalibrationCase[]): { model: OnsetModel; adjustments: Map<number, number> } | undefined {
  if (cases.length === 0) return undefined;
  const model = onsetModelFor(cases);
  if (model.terms.length === 0) return undefined;
  const view = { onset: offlineBest ? { step_id: offlineBest.step_id } : null, incorrect_step_ids: [], unuseful_step_ids: [], error_chain: [], evidence, failure_category: "other" as const };
  const adjustments = onsetAdjustments(stepFeatures(context.steps, view), model);
  return adjustments.size > 0 ? { model, adjustments } : undefined;
}

/** The scoring model with memory's learned onset adjustments added to its priors. */
function withAdjustments(model: ScoringModel, adjustments: Map<number, number>): ScoringModel {
  return { ...model, priors: (stepId) => (model.priors?.(stepId) ?? 0) + (adjustments.get(stepId) ?? 0) };
}

/** Why memory moved the onset, and the cases that taught it. */
function onsetMoved(model: OnsetModel, from: number, to: number): { evidence: Evidence; cases: string[] } {
  const why = `memory: annotators of ${model.runs} remembered runs of this kind of agent place the onset differently: ${model.terms.map(explainTerm).join("; ")}; the onset moved from step ${from} to step ${to}`;
  return { evidence: { step_id: to, why, signal: "memory_calibration" }, cases: [...new Set(model.terms.flatMap((term) => term.cases))].sort() };
}

/** The proposal with its incorrect and unuseful steps recalibrated by memory, when memory changes any (else as it is). */
function withCalibration(proposal: Proposal, context: RunContext, cases: CalibrationCase[], constraints: Constraints): Proposal {
  const onsetId = proposal.onset?.step_id;
  const calibrated = onsetId === undefined ? undefined : calibrateProposal(context.steps, proposal, cases, constraints.notIncorrect);
  if (!calibrated || onsetId === undefined) return proposal;
  const used = [...new Set([...(proposal.cases_used ?? []).map((entry) => entry.id), ...calibrated.cases])].sort();
  return {
    ...proposal,
    incorrect_step_ids: calibrated.incorrect,
    unuseful_step_ids: calibrated.unuseful,
    error_chain: errorChain(context, onsetId, calibrated.incorrect),
    evidence: [...proposal.evidence, ...calibrated.evidence],
    cases_used: used.map((id) => ({ id, similarity: 0, role: "calibration" as const })),
  };
}

/** The scoring model with memory's onset prior added to any prior it already has. */
function withPriors(model: ScoringModel, priors: MemoryPriors | undefined): ScoringModel {
  if (!priors) return model;
  return { ...model, priors: (stepId) => (model.priors?.(stepId) ?? 0) + priors.onset(stepId) };
}

/** The category (memory may overrule the rule), and the evidence with what memory contributed, if anything. */
function categoryAndEvidence(context: RunContext, best: StepScore, evidence: Evidence[], priors: MemoryPriors | undefined): Pick<Proposal, "failure_category" | "evidence"> {
  const offline = categorize(context, best.signals);
  if (!priors) return { failure_category: offline, evidence };
  const voted = priors.category(offline, best);
  const onsetWhy = priors.explain(best.step_id);
  const remembered: Evidence[] = [onsetWhy, voted.why].filter((why): why is string => !!why).map((why) => ({ step_id: best.step_id, why, signal: "memory_prior" }));
  return { failure_category: voted.category, evidence: [...evidence, ...remembered] };
}

/** The onset's strongest signal first: that is what a reader needs to see. */
function summaryOf(best: StepScore, priors?: MemoryPriors): string {
  const strongest = [...best.signals].sort((a, b) => rank(b) - rank(a))[0];
  return strongest?.why ?? priors?.explain(best.step_id) ?? "evidence points here";
}

function rank(signal: Signal): number {
  return DEFAULT_MODEL.weights[signal.signal];
}

/**
 * Steps that contributed to the failure: the onset; later work on what the checks test; later garbled
 * calls that meant to change or check something (every later garbled call, when the run derailed
 * before making its result); and faults such as completion claimed without a check.
 */
function incorrectSteps(context: RunContext, signals: Signal[], onsetId: number): number[] {
  const ids = new Set<number>([onsetId]);
  const derailedEarly = !context.provenance.touchedTargets || (context.derailment !== undefined && context.derailment.start <= onsetId);
  context.steps.forEach((step, index) => {
    if (step.id <= onsetId || !isAgent(step)) return;
    const fact = context.facts[index]!;
    if (fact.malformed && (derailedEarly || fact.intent === "change" || fact.intent === "verify")) ids.add(step.id);
    if (context.outcomes[index]!.empty && index === context.steps.length - 1) ids.add(step.id);
  });
  for (const signal of signals) {
    if (signal.step_id <= onsetId) continue;
    if (signal.signal === "target_write" || (FAULTS.has(signal.signal) && signal.signal !== "malformed_call")) ids.add(signal.step_id);
  }
  return [...ids].sort((a, b) => a - b);
}

/** Steps that were not wrong but added nothing: garbled probes before the onset, repeats, unused files. */
function unusefulSteps(context: RunContext, signals: Signal[], onsetId: number | undefined): number[] {
  const ids = new Set<number>();
  context.steps.forEach((step, index) => {
    if (!isAgent(step) || !step.tool) return;
    const fact = context.facts[index]!;
    if (fact.malformed && (onsetId === undefined || step.id < onsetId)) ids.add(step.id);
    if (fact.malformed && onsetId !== undefined && step.id > onsetId && fact.intent === "explore") ids.add(step.id);
  });
  for (const id of [...idsOf(signals, "repeated_call"), ...idsOf(signals, "unused_artifact"), ...idsOf(signals, "fruitless_call")]) if (id !== onsetId) ids.add(id);
  return [...ids].sort((a, b) => a - b);
}

/**
 * From the onset through the steps that carried the error forward (later incorrect steps, and later
 * work on what the checks test), in order; the last one is where it last showed before the checks.
 */
function errorChain(context: RunContext, onsetId: number, incorrect: number[]): number[] {
  const lineage = [...context.provenance.lineage.keys()].filter((id) => id > onsetId);
  return unique([onsetId, ...incorrect.filter((id) => id > onsetId), ...lineage]);
}

/** Sure when one step stands out; unsure when another step scores almost as well. */
function confidence(best: StepScore, runnerUp: StepScore | undefined, failed: boolean | null): number {
  const margin = runnerUp ? (best.score - runnerUp.score) / best.score : 1;
  const strength = Math.min(best.score, 6) / 6;
  const value = 0.2 + 0.45 * margin + 0.3 * strength;
  return round(Math.min(0.95, failed === null ? value / 2 : value));
}

function allowed(stepId: number, constraints: Constraints): boolean {
  if (constraints.notAfter !== undefined && stepId > constraints.notAfter) return false;
  return !constraints.exclude?.includes(stepId);
}

function idsOf(signals: Signal[], kind: Signal["signal"]): number[] {
  return signals.filter((signal) => signal.signal === kind).map((signal) => signal.step_id);
}

function toEvidence(signal: Signal): Evidence {
  return { step_id: signal.step_id, why: signal.why, signal: signal.signal };
}

function unique(ids: number[]): number[] {
  return [...new Set(ids)].sort((a, b) => a - b);
}

function round(value: number): number {
  return Math.round(value * 100) / 100;
}
