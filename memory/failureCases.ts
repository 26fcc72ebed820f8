import { z } from "zod";
import { CaseCalibration, caseCalibration } from "../analysis/calibration.js";
import { FailureCategory, type Diagnosis } from "../schema/diagnosis.js";
import { SourceRef, type Step } from "../schema/step.js";
import type { Trace } from "../schema/trace.js";
import { FAILURES, type VectorMemory } from "./vectorStore.js";

/**
 * A failure case: what memory keeps of one failed run so that later diagnoses can lean on it — the
 * symptoms (task, failing checks, error messages), where it went wrong (onset action and observation,
 * error chain), why (category), and whether a person confirmed it. Labels carry step ids AND the raw
 * records they were built from, so they stay meaningful if step numbering changes.
 */

/** Bounds of what a case keeps: enough to recognise a failure, never a whole log. */
const LIMITS = { task: 400, check: 200, checks: 8, error: 160, errors: 6, action: 300, observation: 300, chain: 12, text: 2000 } as const;

export const LabelledStep = z.object({
  step_id: z.number().int().min(1),
  /** The raw record the step's action came from. */
  source: SourceRef.optional(),
  tool_id: z.string().optional(),
});
export type LabelledStep = z.infer<typeof LabelledStep>;

export const FailureCase = z.object({
  /** The run's path (the same key the run store uses). */
  run: z.string(),
  format: z.string(),
  /** The gist of the task: its first few hundred characters. */
  task: z.string(),
  failing_checks: z.array(z.string()),
  error_messages: z.array(z.string()),
  steps: z.number().int().min(0),
  onset: z
    .object({
      step_id: z.number().int().min(1),
      kind: z.string(),
      /** Where in the run the onset sits, 0 (first step) .. 1 (last). */
      position: z.number().min(0).max(1),
      action: z.string(),
      observation: z.string(),
      /** Kinds of evidence the trace holds against the onset step (e.g. `malformed_call`). */
      signals: z.array(z.string()),
    })
    .nullable(),
  error_chain: z.array(z.object({ step_id: z.number().int().min(1), action: z.string() })),
  category: FailureCategory,
  /** A person confirmed (or corrected) this case; unconfirmed cases are the tool's own guesses. */
  confirmed: z.boolean(),
  labels: z.object({
    onset: LabelledStep.nullable(),
    incorrect: z.array(LabelledStep),
    unuseful: z.array(LabelledStep),
  }),
  source: z.enum(["analysis", "feedback", "import"]),
  note: z.string().optional(),
  /**
   * The run step by step as the OFFLINE analysis saw it, with the person's labels (analysis/calibration.ts):
   * what calibration learns the annotators' conventions from. Only confirmed cases whose offline view
   * was known when they were stored have it; cases without it are simply not used for calibration.
   */
  calibration: CaseCalibration.optional(),
});
export type FailureCase = z.infer<typeof FailureCase>;

/** What a person says about a run; anything left out is taken from the diagnosis. */
export interface CaseLabels {
  onset: number | null;
  incorrect?: number[];
  unuseful?: number[];
  error_chain?: number[];
  category?: FailureCategory;
  note?: string;
}

export type TraceLike = Pick<Trace, "run" | "steps">;

/**
 * The case of an analyzed run: from the diagnosis alone, or from a person's labels over it. With
 * `offline: true` the diagnosis is the memory-free offline one, and the case keeps the per-step
 * features calibration learns from (only meaningful with a person's labels).
 */
export function caseFromAnalysis(
  trace: TraceLike,
  diagnosis: Diagnosis,
  options: { confirmed: boolean; labels?: CaseLabels; source?: FailureCase["source"]; offline?: boolean },
): FailureCase {
  const labels = options.labels ?? {
    onset: diagnosis.onset?.step_id ?? null,
    incorrect: diagnosis.incorrect_step_ids,
    unuseful: diagnosis.unuseful_step_ids,
    error_chain: diagnosis.error_chain,
  };
  const byId = new Map(trace.steps.map((step) => [step.id, step]));
  const onsetStep = labels.onset === null ? undefined : byId.get(labels.onset);
  const incorrect = sortedUnique([...(labels.incorrect ?? diagnosis.incorrect_step_ids), ...(onsetStep ? [onsetStep.id] : [])]);
  const chain = labels.error_chain ?? (onsetStep ? incorrect.filter((id) => id >= onsetStep.id) : diagnosis.error_chain);
  const unuseful = sortedUnique(labels.unuseful ?? diagnosis.unuseful_step_ids).filter((id) => !incorrect.includes(id));
  const gold = { onset: onsetStep?.id ?? null, incorrect, unuseful };
  return FailureCase.parse({
    ...symptomsOf(trace),
    onset: onsetStep ? describeOnset(onsetStep, trace.steps.length, diagnosis) : null,
    error_chain: chain.slice(0, LIMITS.chain).flatMap((id) => {
      const step = byId.get(id);
      return step ? [{ step_id: id, action: clip(actionOf(step), LIMITS.action) }] : [];
    }),
    category: labels.category ?? diagnosis.failure_category,
    confirmed: options.confirmed,
    labels: {
      onset: onsetStep ? labelled(onsetStep) : null,
      incorrect: incorrect.flatMap((id) => labelledById(byId, id)),
      unuseful: unuseful.flatMap((id) => labelledById(byId, id)),
    },
    source: options.source ?? (options.confirmed ? "feedback" : "analysis"),
    ...(labels.note ? { note: labels.note } : {}),
    ...(options.offline && options.labels ? { calibration: caseCalibration(trace.run, trace.steps, diagnosis, gold) } : {}),
  });
}

/** What is embedded: symptoms, then the onset and the category. Bounded, so one case is never a log. */
export function caseText(failure: FailureCase): string {
  const lines = symptomLines(failure);
  if (failure.onset) {
    lines.push(`onset action: ${failure.onset.action}`);
    lines.push(`onset observation: ${failure.onset.observation}`);
  }
  lines.push(`category: ${failure.category.replace(/_/g, " ")}`);
  return truncate(lines.join("\n"), LIMITS.text);
}

/**
 * The query for a run not yet diagnosed: the symptoms only, which is all a new run has to compare.
 * With a diagnosis, its onset and category sharpen the query.
 */
export function queryText(trace: TraceLike, diagnosis?: Diagnosis): string {
  if (diagnosis) return caseText(caseFromAnalysis(trace, diagnosis, { confirmed: false }));
  return truncate(symptomLines(symptomsOf(trace)).join("\n"), LIMITS.text);
}

export interface NearCase {
  id: string;
  similarity: number;
  case: FailureCase;
}

/**
 * The k remembered failure cases nearest to a run, most similar first. `confirmedOnly` keeps the
 * cases a person confirmed (the ones worth using as priors); `excludeRuns` keeps a run from finding
 * itself (e.g. when scoring on runs whose labels were imported).
 */
export async function nearestCases(
  memory: VectorMemory,
  trace: TraceLike,
  k: number,
  options: { confirmedOnly?: boolean; diagnosis?: Diagnosis; excludeRuns?: string[] } = {},
): Promise<NearCase[]> {
  const excluded = new Set(options.excludeRuns ?? []);
  const wanted = (metadata: Record<string, unknown>) => (!options.confirmedOnly || metadata.confirmed === true) && !excluded.has(String(metadata.run));
  const hits = await memory.search(FAILURES, queryText(trace, options.diagnosis), k, wanted);
  return hits.flatMap((hit) => {
    // A document another version wrote may not parse: skip it rather than mislead the caller.
    const parsed = FailureCase.safeParse(hit.metadata);
    return parsed.success ? [{ id: hit.id, similarity: hit.similarity, case: parsed.data }] : [];
  });
}

/**
 * Store a case under its run's path. An unconfirmed case never overwrites a confirmed one: a person's
 * answer outlives re-analyses. Returns whether the case was stored.
 */
export async function storeCase(memory: VectorMemory, failure: FailureCase): Promise<boolean> {
  if (!failure.confirmed) {
    const existing = memory.get(FAILURES, failure.run);
    if (existing && existing.metadata.confirmed === true) return false;
  }
  await memory.add(FAILURES, [caseDocument(failure)]);
  return true;
}

/** A case as a memory document: keyed by its run, embedded by its text, the whole case as metadata. */
export function caseDocument(failure: FailureCase): { id: string; text: string; metadata: FailureCase } {
  return { id: failure.run, text: caseText(failure), metadata: failure };
}

function symptomsOf(trace: TraceLike): Pick<FailureCase, "run" | "format" | "task" | "failing_checks" | "error_messages" | "steps"> {
  return {
    run: trace.run.path,
    format: trace.run.format,
    task: clip(trace.run.task ?? firstUserText(trace.steps), LIMITS.task),
    failing_checks: failingChecks(trace).slice(0, LIMITS.checks),
    error_messages: errorMessages(trace.steps).slice(0, LIMITS.errors),
    steps: trace.steps.length,
  };
}

function symptomLines(symptoms: Pick<FailureCase, "task" | "failing_checks" | "error_messages">): string[] {
  const lines = [`task: ${symptoms.task}`];
  if (symptoms.failing_checks.length) lines.push(`failing checks: ${symptoms.failing_checks.join("; ")}`);
  if (symptoms.error_messages.length) lines.push(`errors: ${symptoms.error_messages.join(" | ")}`);
  return lines;
}

/** Failing checks as `name: assertion`, the assertion being pytest's `E   …` line when there is one. */
function failingChecks(trace: TraceLike): string[] {
  if (trace.run.outcome?.status !== "failed") return [];
  return trace.run.outcome.evidence
    .filter((check) => check.status !== "passed")
    .map((check) => {
      const assertion = check.detail?.split("\n").find((line) => /^E\s/.test(line))?.replace(/^E\s+/, "");
      return clip(assertion ? `${check.name}: ${assertion}` : check.name, LIMITS.check);
    });
}

/** First lines of error observations, deduplicated, in step order. */
function errorMessages(steps: Step[]): string[] {
  const messages = new Set<string>();
  for (const step of steps) {
    const observation = step.observation;
    if (!observation || !(observation.is_error || (observation.exit_code ?? 0) !== 0)) continue;
    const line = clip(observation.text.trim().split("\n")[0] ?? "", LIMITS.error);
    if (line) messages.add(line);
  }
  return [...messages];
}

function describeOnset(step: Step, stepCount: number, diagnosis: Diagnosis): NonNullable<FailureCase["onset"]> {
  return {
    step_id: step.id,
    kind: step.kind,
    position: stepCount > 1 ? (step.id - 1) / (stepCount - 1) : 0,
    action: clip(actionOf(step), LIMITS.action),
    observation: clip(step.observation?.text ?? "", LIMITS.observation),
    signals: [...new Set(diagnosis.evidence.filter((item) => item.step_id === step.id && item.signal).map((item) => item.signal!))],
  };
}

/** What the step did, as one line of text: its command, its tool call, or what it said. */
export function actionOf(step: Step): string {
  if (step.tool?.command) return `${step.tool.name}: ${step.tool.command}`;
  if (step.tool) return `${step.tool.name} ${JSON.stringify(step.tool.args ?? {})}`;
  return step.text ?? step.thought ?? "";
}

function labelled(step: Step): LabelledStep {
  return { step_id: step.id, ...(step.sources[0] ? { source: step.sources[0] } : {}), ...(step.tool?.id ? { tool_id: step.tool.id } : {}) };
}

function labelledById(byId: Map<number, Step>, id: number): LabelledStep[] {
  const step = byId.get(id);
  return step ? [labelled(step)] : [];
}

function firstUserText(steps: Step[]): string {
  return steps.find((step) => step.actor === "user" && step.text)?.text ?? "";
}

/** One line of at most `max` characters. */
function clip(text: string, max: number): string {
  return truncate(text.replace(/\s+/g, " ").trim(), max);
}

function truncate(text: string, max: number): string {
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}

function sortedUnique(ids: number[]): number[] {
  return [...new Set(ids)].sort((a, b) => a - b);
}
