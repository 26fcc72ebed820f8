import { HashedNgramEmbeddings } from "../memory/embeddings.js";
import type { FailureCase } from "../memory/failureCases.js";
import type { FailureCategory } from "../schema/diagnosis.js";
import type { Step } from "../schema/step.js";
import type { RunContext, Signal } from "./evidence.js";
import { isAgent } from "./provenance.js";
import { DEFAULT_WEIGHTS } from "./scoring.js";

/**
 * Priors from memory: what confirmed past failures say about this run. Two beliefs, both learned
 * from cases a person confirmed (never from the tool's own guesses) and both weighted by how close
 * each case is to this run:
 *  - the failure category: a vote of the cases, each counting more when its onset looked like this
 *    run's onset (same evidence, same kind of step), with the offline rule's answer as a voter too;
 *  - where the onset is: the step of this run that stands out as resembling a case's onset (its
 *    evidence and kind, the text of its action and observation) gets extra score.
 * The weights below are set from these roles, not fitted to labels. With no case, or only cases of
 * unrelated failures, nothing changes: the offline localizer is exactly what it is without memory.
 */
export const PRIOR_WEIGHTS = {
  /** Confirmed cases asked of memory per analysis. */
  neighbours: 10,
  /**
   * Closeness (similarity relative to the case's similarity to itself, memory/recall.ts) at or below
   * which a case says nothing about this run. On the dev label sets, runs of the same task by another
   * agent sit at 0.91–0.94 and all pairs of unrelated tasks below 0.64: memory speaks about failures
   * it has seen, it does not lend weight to every past run.
   */
  unrelatedCloseness: 0.65,
  /** Relevance grows with the cube of the closeness above that level: 0 unrelated, 1 the same failure again. */
  sharpness: 3,
  /**
   * The offline rule's category vote. A case votes with its relevance times ¾ (a different-looking
   * onset) to 1 (the same evidence at the same kind of step). The same failure seen again outvotes the
   * rule; one run of the same task by another agent (relevance about ½) does not on its own, two do.
   */
  offlineCategoryVote: 0.7,
  /**
   * Score added (units of analysis/scoring.ts, where a strong signal weighs 3) to the step of this run
   * that resembles a case's onset, times the case's relevance and times how clearly that one step
   * stands out (a softmax over the run's steps). The same failure seen again puts a person's answer
   * above any single offline signal at its analogous step, though not above several stacked on one
   * step; a resemblance shared by many steps adds little to each.
   */
  onsetPoints: 4,
  /** Temperature of that softmax, in resemblance units (0..1): a step 0.15 less alike weighs e^-3 as much. */
  resemblanceTemperature: 0.05,
} as const;

/** A confirmed failure case memory returned for this run. */
export interface RecalledCase {
  id: string;
  /** Cosine similarity of this run's symptoms to the case (0..1), as memory search reports it. */
  similarity: number;
  /** Similarity relative to the best the case can score (memory/recall.ts); the similarity when unknown. */
  closeness?: number;
  case: FailureCase;
}

export interface MemoryPriors {
  /** Extra onset score of a step (ScoringModel.priors); 0 for most steps. */
  onset: (stepId: number) => number;
  /** The category the cases and the offline rule agree on best, and why when memory changed it. */
  category: (offline: FailureCategory, onset: { step_id: number; signals: Signal[] }) => { category: FailureCategory; why?: string };
  /** Why a step got an onset prior: the case whose onset it resembles most. */
  explain: (stepId: number) => string | undefined;
}

/** Observations are cut here when compared: the same bound a failure case keeps. */
const OBSERVATION_CHARS = 300;
const embedding = new HashedNgramEmbeddings();

/** The priors of a run from its recalled cases; undefined when there are none (offline as it is). */
export function memoryPriors(recalled: RecalledCase[], context: RunContext, signals: Signal[]): MemoryPriors | undefined {
  if (relevantCases(recalled).length === 0) return undefined;
  const cases = relevantCases(recalled).map((entry) => ({ ...entry, relevance: relevance(entry) }));
  const looks = stepLooks(context, signals);
  const onsetScores = onsetPriorScores(cases, looks);
  return {
    onset: (stepId) => onsetScores.get(stepId)?.score ?? 0,
    category: (offline, onset) => voteCategory(cases, offline, lookOf(context.steps.find((step) => step.id === onset.step_id)?.kind ?? "other", onset.signals.map((signal) => signal.signal))),
    explain: (stepId) => onsetScores.get(stepId)?.why,
  };
}

/**
 * A recalled case as a short worked example for an LLM: the symptoms, where a person said the run
 * went wrong and why. Quoted trajectory text inside is data (the LLM layer wraps it as untrusted).
 */
export function describeCase(entry: RecalledCase): string {
  const failure = entry.case;
  const lines = [`A confirmed past failure (similarity ${entry.similarity.toFixed(2)}): ${shortName(entry.id)} (${failure.format})`, `task: ${clip(failure.task, 300)}`];
  if (failure.failing_checks.length) lines.push(`failing checks: ${failure.failing_checks.slice(0, 4).join("; ")}`);
  if (failure.onset) {
    const { onset } = failure;
    lines.push(`onset: step ${onset.step_id} of ${failure.steps} (${onset.kind}${onset.signals.length ? `; evidence: ${onset.signals.join(", ")}` : ""})`);
    lines.push(`onset action: ${clip(onset.action, 240)}`);
    if (onset.observation) lines.push(`onset observation: ${clip(onset.observation, 200)}`);
  }
  lines.push(`incorrect steps: ${failure.labels.incorrect.length}, unuseful steps: ${failure.labels.unuseful.length}; category: ${failure.category}`);
  if (failure.note) lines.push(`note: ${clip(failure.note, 200)}`);
  return lines.join("\n");
}

/** The recalled cases that can inform this run at all (the others are unrelated failures). */
export function relevantCases(recalled: RecalledCase[]): RecalledCase[] {
  return recalled.filter((entry) => relevance(entry) > 0);
}

/** How much a case counts, from its similarity to this run. */
export function relevance(entry: Pick<RecalledCase, "similarity" | "closeness">): number {
  const closeness = entry.closeness ?? entry.similarity;
  const above = Math.max(0, closeness - PRIOR_WEIGHTS.unrelatedCloseness) / (1 - PRIOR_WEIGHTS.unrelatedCloseness);
  return Math.min(1, above) ** PRIOR_WEIGHTS.sharpness;
}

type Weighted = RecalledCase & { relevance: number };

/**
 * The category with the most weight: each case votes for its (confirmed) category with its relevance,
 * scaled from ¾ (nothing alike) to 1 (the same evidence at a step of the same kind) by how much its
 * onset looked like this run's; the offline rule votes with a fixed weight and wins ties.
 */
function voteCategory(cases: Weighted[], offline: FailureCategory, onsetLook: Set<string>): { category: FailureCategory; why?: string } {
  const votes = new Map<FailureCategory, number>([[offline, PRIOR_WEIGHTS.offlineCategoryVote]]);
  for (const entry of cases) {
    const look = entry.case.onset ? lookOf(entry.case.onset.kind, entry.case.onset.signals) : new Set<string>();
    const weight = entry.relevance * (0.75 + 0.25 * jaccard(onsetLook, look));
    votes.set(entry.case.category, (votes.get(entry.case.category) ?? 0) + weight);
  }
  const [best, weight] = [...votes].sort((a, b) => b[1] - a[1] || Number(b[0] === offline) - Number(a[0] === offline))[0]!;
  if (best === offline || weight <= votes.get(offline)!) return { category: offline };
  const voters = cases.filter((entry) => entry.case.category === best && entry.relevance > 0).slice(0, 3).map((entry) => `${shortName(entry.id)} (${entry.similarity.toFixed(2)})`);
  return { category: best, why: `remembered failures like this one were confirmed as ${best.replace(/_/g, " ")}: ${voters.join(", ")}` };
}

interface StepLook {
  id: number;
  look: Set<string>;
  vector: number[];
}

/** Every agent step that acted or spoke: its evidence and kind, and its action and observation as a vector. */
function stepLooks(context: RunContext, signals: Signal[]): StepLook[] {
  const kindsAt = new Map<number, string[]>();
  for (const signal of signals) kindsAt.set(signal.step_id, [...(kindsAt.get(signal.step_id) ?? []), signal.signal]);
  return context.steps
    .filter((step) => isAgent(step) && (step.tool || step.text))
    .map((step) => ({ id: step.id, look: lookOf(step.kind, kindsAt.get(step.id) ?? []), vector: embedding.embedText(stepText(step)) }));
}

/**
 * A step's onset prior: for each case with an onset, how much of this run's resemblance to that onset
 * (half evidence-and-kind overlap, half text similarity) falls on this step — a softmax over the
 * run's steps, so one clearly analogous step takes it all and a look many steps share is spread thin —
 * times the case's relevance, summed over cases.
 */
function onsetPriorScores(cases: Weighted[], steps: StepLook[]): Map<number, { score: number; why: string }> {
  const scores = new Map<number, { score: number; why: string; best: number }>();
  if (steps.length === 0) return new Map();
  for (const entry of cases) {
    const onset = entry.case.onset;
    if (!onset) continue;
    const look = lookOf(onset.kind, onset.signals);
    const vector = embedding.embedText(`${onset.action}\n${onset.observation}`);
    const resemblance = steps.map((step) => 0.5 * jaccard(step.look, look) + 0.5 * cosine(step.vector, vector));
    const top = Math.max(...resemblance);
    const weights = resemblance.map((value) => Math.exp((value - top) / PRIOR_WEIGHTS.resemblanceTemperature));
    const total = weights.reduce((sum, value) => sum + value, 0);
    steps.forEach((step, index) => {
      const contribution = (PRIOR_WEIGHTS.onsetPoints * entry.relevance * weights[index]!) / total;
      if (contribution < 0.01) return;
      const current = scores.get(step.id) ?? { score: 0, why: "", best: 0 };
      current.score += contribution;
      if (contribution > current.best) {
        current.best = contribution;
        current.why = `resembles the confirmed onset of ${shortName(entry.id)} (similar failure, ${entry.similarity.toFixed(2)}): ${clip(onset.action, 80)}`;
      }
      scores.set(step.id, current);
    });
  }
  return new Map([...scores].map(([id, { score, why }]) => [id, { score: round(score), why }]));
}

/** What an onset looks like, as a set: its kind of step and the kinds of evidence against it. */
function lookOf(kind: string, signals: readonly string[]): Set<string> {
  // Only evidence the offline analysis finds counts: a memory prior must not feed on itself.
  return new Set([`kind:${kind}`, ...signals.filter((signal) => signal in DEFAULT_WEIGHTS)]);
}

/** A step as failure cases describe their onset: the call, then the start of what it returned. */
function stepText(step: Step): string {
  const action = step.tool?.command ? `${step.tool.name}: ${step.tool.command}` : step.tool ? `${step.tool.name} ${JSON.stringify(step.tool.args ?? {})}` : step.text ?? "";
  return `${action}\n${(step.observation?.text ?? "").slice(0, OBSERVATION_CHARS)}`;
}

function jaccard(a: Set<string>, b: Set<string>): number {
  const union = new Set([...a, ...b]).size;
  return union === 0 ? 0 : [...a].filter((item) => b.has(item)).length / union;
}

/** Both vectors are L2-normalised by the embedding, so the dot product is the cosine. */
function cosine(a: number[], b: number[]): number {
  let dot = 0;
  for (let index = 0; index < a.length; index += 1) dot += a[index]! * b[index]!;
  return Math.max(0, dot);
}

/** A case id is its run's path: the last two parts name it well enough for a person. */
export function shortName(id: string): string {
  return id.split(/[\\/]/).filter(Boolean).slice(-2).join("/");
}

function clip(text: string, max: number): string {
  const flat = text.replace(/\s+/g, " ").trim();
  return flat.length > max ? `${flat.slice(0, max - 1)}…` : flat;
}

function round(value: number): number {
  return Math.round(value * 1000) / 1000;
}
