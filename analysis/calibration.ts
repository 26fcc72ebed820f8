import { createHash } from "node:crypto";
import { z } from "zod";
import { FailureCategory, type Evidence } from "../schema/diagnosis.js";
import type { Step } from "../schema/step.js";
import { DEFAULT_WEIGHTS } from "./scoring.js";

/**
 * Calibration from confirmed cases: what transfers between runs of DIFFERENT tasks is how the
 * annotators label steps (their conventions) and how the agent behaves (its habits). To learn them,
 * a confirmed case keeps, for every step, what the offline analysis saw (its kind, the evidence on
 * it, where it sits relative to the offline onset, what the offline localizer called it) beside what
 * the person said about it. This file is the vocabulary of that record: the per-step features, how
 * they are computed (the same function at import time and at analysis time, so both sides agree),
 * and the key that groups "steps like this one". Learning and applying rules is calibrationRules.ts.
 */

/** A case keeps at most this many steps (the first ones): enough for the runs agents make, bounded for memory. */
export const MAX_FEATURE_STEPS = 600;

/** What the offline localizer called a step (absent: neither incorrect nor unuseful). */
export const OfflineDecision = z.enum(["incorrect", "unuseful"]);

export const StepFeatures = z.object({
  step: z.number().int().min(1),
  kind: z.string(),
  actor: z.string(),
  /**
   * Kinds of offline evidence on the step (analysis/evidence.ts), sorted. An error observation, a
   * malformed call and a repeated call are the signals `error_observation`, `malformed_call`, `repeated_call`.
   */
  signals: z.array(z.string()).optional(),
  /** Where the step sits relative to the offline onset; absent when the offline analysis found none. */
  onset: z.enum(["before", "at", "after"]).optional(),
  offline: OfflineDecision.optional(),
  /** In the offline error chain. */
  chain: z.literal(true).optional(),
  /** What the person said: the onset, another incorrect step, an unuseful step (absent: neither). */
  gold: z.enum(["onset", "incorrect", "unuseful"]).optional(),
});
export type StepFeatures = z.infer<typeof StepFeatures>;

/** The offline view of a confirmed run, step by step, with the person's labels. */
export const CaseCalibration = z.object({
  version: z.literal(1),
  /** The extractor that read the run (with the case's `format`, what "the same kind of agent" means). */
  extractor: z.string().optional(),
  offline: z.object({
    onset: z.number().int().nullable(),
    category: FailureCategory,
    /** The offline onset's evidence kinds, strongest first. */
    onset_signals: z.array(z.string()),
  }),
  steps: z.array(StepFeatures).max(MAX_FEATURE_STEPS),
  /** Steps left out beyond the bound. */
  omitted: z.number().int().min(0).optional(),
});
export type CaseCalibration = z.infer<typeof CaseCalibration>;

/** What an offline diagnosis (or proposal) says about a run: enough to compute its features. */
export interface OfflineView {
  onset: { step_id: number } | null;
  incorrect_step_ids: number[];
  unuseful_step_ids: number[];
  error_chain: number[];
  evidence: Evidence[];
  failure_category: FailureCategory;
}

/** A person's labels over the same steps. */
export interface GoldSteps {
  onset: number | null;
  incorrect: number[];
  unuseful: number[];
}

/** The per-step features of a run as the offline analysis saw it, with the person's labels when given. */
export function stepFeatures(steps: Step[], view: OfflineView, gold?: GoldSteps): StepFeatures[] {
  const signalsAt = offlineSignalsByStep(view.evidence);
  const onsetId = view.onset?.step_id;
  const incorrect = new Set(view.incorrect_step_ids);
  const unuseful = new Set(view.unuseful_step_ids);
  const chain = new Set(view.error_chain);
  return steps.map((step) => {
    const signals = signalsAt.get(step.id);
    const goldLabel = gold ? goldOf(step.id, gold) : undefined;
    return {
      step: step.id,
      kind: step.kind,
      actor: step.actor,
      ...(signals?.length ? { signals } : {}),
      ...(onsetId === undefined ? {} : { onset: step.id < onsetId ? ("before" as const) : step.id === onsetId ? ("at" as const) : ("after" as const) }),
      ...(incorrect.has(step.id) ? { offline: "incorrect" as const } : unuseful.has(step.id) ? { offline: "unuseful" as const } : {}),
      ...(chain.has(step.id) ? { chain: true as const } : {}),
      ...(goldLabel ? { gold: goldLabel } : {}),
    };
  });
}

/** A confirmed case's calibration record: the offline view of its run and the person's labels. */
export function caseCalibration(run: { extractor?: { id: string } | undefined }, steps: Step[], view: OfflineView, gold: GoldSteps): CaseCalibration {
  const onsetId = view.onset?.step_id ?? null;
  return CaseCalibration.parse({
    version: 1,
    ...(run.extractor ? { extractor: run.extractor.id } : {}),
    offline: { onset: onsetId, category: view.failure_category, onset_signals: onsetId === null ? [] : strongestFirst(offlineSignalsByStep(view.evidence).get(onsetId) ?? []) },
    steps: stepFeatures(steps.slice(0, MAX_FEATURE_STEPS), view, gold),
    ...(steps.length > MAX_FEATURE_STEPS ? { omitted: steps.length - MAX_FEATURE_STEPS } : {}),
  });
}

/** The actors provenance.ts `isAgent` counts as the agent. */
const AGENT_ACTORS = new Set(["agent", "assistant"]);

/** Decisions a calibration rule can make about a step. */
export type Decision = "incorrect" | "unuseful" | "neither";

/**
 * The parts of a step that say what annotators would call it: the grouping calibration learns over.
 * A broad key (what offline called it, where it sits relative to the onset, its strongest evidence)
 * gathers support over many runs quickly; a narrow one adds the step's kind and whether the call
 * repeats an earlier one, for conventions that hold only there. `kind` and `repeated` are absent in
 * the broad key.
 */
export interface StepKey {
  offline: Decision;
  relation: "before" | "after" | "none";
  strongest: string;
  kind?: string;
  repeated?: boolean;
}

/**
 * The keys of a step calibration may change, narrowest first (a narrow rule overrides a broad one);
 * none for steps it never touches: the onset (a person's onset is what memory is about, not a
 * convention) and steps of other actors.
 */
export function keysOf(features: StepFeatures): StepKey[] {
  if (!AGENT_ACTORS.has(features.actor) || features.onset === "at") return [];
  const signals = features.signals ?? [];
  const broad: StepKey = { offline: features.offline ?? "neither", relation: features.onset ?? "none", strongest: strongestFirst(signals)[0] ?? "none" };
  return [{ ...broad, kind: features.kind, repeated: signals.includes("repeated_call") }, broad];
}

export function keyText(key: StepKey): string {
  const narrow = key.kind === undefined ? "*|*" : `${key.kind}|${key.repeated ? "repeated" : "once"}`;
  return `${key.offline}|${key.relation}|${key.strongest}|${narrow}`;
}

/** Offline evidence kinds per step; anything else in the evidence (memory, an LLM) is not offline and is left out. */
function offlineSignalsByStep(evidence: Evidence[]): Map<number, string[]> {
  const byStep = new Map<number, Set<string>>();
  for (const item of evidence) {
    if (!item.signal || !(item.signal in DEFAULT_WEIGHTS)) continue;
    byStep.set(item.step_id, (byStep.get(item.step_id) ?? new Set()).add(item.signal));
  }
  return new Map([...byStep].map(([id, kinds]) => [id, [...kinds].sort()]));
}

/** Evidence kinds by their onset weight, heaviest first (then by name, so the order is stable). */
export function strongestFirst(signals: readonly string[]): string[] {
  const weight = (signal: string) => DEFAULT_WEIGHTS[signal as keyof typeof DEFAULT_WEIGHTS] ?? 0;
  return [...signals].sort((a, b) => weight(b) - weight(a) || a.localeCompare(b));
}

function goldOf(stepId: number, gold: GoldSteps): StepFeatures["gold"] {
  if (stepId === gold.onset) return "onset";
  if (gold.incorrect.includes(stepId)) return "incorrect";
  if (gold.unuseful.includes(stepId)) return "unuseful";
  return undefined;
}

/** A confirmed case as calibration uses it: its id (the run's path), format and offline view with labels. */
export interface CalibrationCase {
  id: string;
  format: string;
  calibration: CaseCalibration;
}

/**
 * A learner over confirmed cases, remembered per set of cases by digest: the critic may ask for
 * several proposals of one run, and a batch or an eval diagnoses many runs against the same memory.
 * A few sets are kept (one per kind of agent).
 */
export function learnedPerCaseSet<Learned>(learn: (cases: CalibrationCase[]) => Learned, sets = 8): (cases: CalibrationCase[]) => Learned {
  const learned = new Map<string, Learned>();
  return (cases) => {
    const digest = createHash("sha256").update(JSON.stringify(cases)).digest("hex");
    const known = learned.get(digest);
    if (known !== undefined) return known;
    const result = learn(cases);
    if (learned.size >= sets) learned.delete(learned.keys().next().value!);
    learned.set(digest, result);
    return result;
  };
}
