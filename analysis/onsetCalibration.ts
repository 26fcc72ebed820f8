import { learnedPerCaseSet, type CaseCalibration, type StepFeatures } from "./calibration.js";
import { signTest } from "./calibrationRules.js";
import type { SignalKind } from "./evidence.js";
import { DEFAULT_WEIGHTS, NEVER_MADE_BONUS } from "./scoring.js";

/**
 * Where annotators put the onset, learned from confirmed cases of the same kind of agent. The offline
 * localizer scores each step by its evidence with fixed weights (analysis/scoring.ts); annotators of
 * another agent, another benchmark or another team may weigh the same evidence differently (a garbled
 * call is the onset for some, a symptom for others) or place the onset by what the step is (the first
 * edit, a verification) where no evidence fires. So memory may re-weigh the onset score with terms
 * of the features a case keeps for every step (analysis/calibration.ts): one weight per evidence
 * kind, a bonus per kind of step, for the first change or check of the run, and for sitting before or
 * after the offline onset.
 *
 * Each remembered run is re-localized from its features under a trial weighting. A trial term is
 * adopted, greedily and best first, only when it puts the onset nearer the annotators' on
 * significantly more remembered runs than it puts it farther (the same one-sided sign test as the
 * step rules, p ≤ 0.05: at least 5 runs better and none worse, 7 and 1, …) and raises the mean over
 * all of them. A memory of a few cases, or of runs the offline weights already place right, changes
 * nothing; the diagnosis is then exactly the offline one.
 */
export const ONSET_LIMITS = {
  /** Terms adopted at most. */
  maxTerms: 6,
  /** Values a term may take: evidence weights, and bonuses for a kind of step or place. */
  weightGrid: [0, 0.25, 0.5, 1, 1.5, 2, 3, 4, 5],
  bonusGrid: [-3, -2, -1, -0.5, 0.5, 1, 2, 3, 4, 6],
  /** Onsets within this many steps of the annotators' count as near (as the eval's ±3 does). */
  near: 3,
} as const;

/** One learned term: a feature of a step and the weight memory gives it (instead of `from`). */
export interface OnsetTerm {
  feature: string;
  from: number;
  to: number;
  /** Remembered runs whose onset the term moved nearer / farther from the annotators'. */
  improved: number;
  worsened: number;
  /** The remembered runs it moved: the evidence for it. */
  cases: string[];
}

/** The learned terms over a set of cases, and how many remembered runs they were learned on. */
export interface OnsetModel {
  terms: OnsetTerm[];
  runs: number;
}

const AGENT_ACTORS = new Set(["agent", "assistant"]);

/**
 * The features of a step the onset score has a term for: its evidence kinds, its kind, whether it is
 * the run's first step of that kind or with that evidence (annotators often take the first garbled
 * call or the first edit, where the offline weights take the strongest), and its place relative to
 * the offline onset.
 */
function onsetFeaturesOf(step: StepFeatures, firsts: Map<string, number>): string[] {
  const signals = (step.signals ?? []).filter((signal) => signal in DEFAULT_WEIGHTS);
  const features = [...signals.map((signal) => `signal:${signal}`), `kind:${step.kind}`];
  for (const first of [`kind:${step.kind}`, ...signals.map((signal) => `signal:${signal}`)]) if (firsts.get(first) === step.step) features.push(`first:${first}`);
  if (step.onset === "before" || step.onset === "after") features.push(`place:${step.onset}`);
  return features;
}

/** The weight of a feature before memory says anything: the offline evidence weight, or no bonus. */
function defaultWeight(feature: string): number {
  return feature.startsWith("signal:") ? DEFAULT_WEIGHTS[feature.slice("signal:".length) as SignalKind] : 0;
}

/** A run as the learner sees it: each agent step's features, and its offline and gold onsets. */
interface TrainingRun {
  id: string;
  steps: { id: number; features: string[]; derailment: boolean }[];
  offline: number | null;
  gold: number;
  /** Whether the derailment bonus applied offline (inferred: the offline onset is reproduced only with it). */
  neverMade: boolean;
}

/** Learn the onset terms from confirmed cases (none when memory holds too few runs to say anything). */
export function learnOnsetModel(cases: { id: string; calibration: CaseCalibration }[]): OnsetModel {
  const runs = cases
    .map(({ id, calibration }) => trainingRun(id, calibration))
    .filter((run): run is TrainingRun => run !== undefined)
    .sort((a, b) => a.id.localeCompare(b.id));
  if (signTest(runs.length, 0) > 0.05) return { terms: [], runs: runs.length };
  const weights = new Map<string, number>();
  const features = [...new Set(runs.flatMap((run) => run.steps.flatMap((step) => step.features)))].sort();
  let current = runs.map((run) => predict(run, weights));
  const terms: OnsetTerm[] = [];
  for (let round = 0; round < ONSET_LIMITS.maxTerms; round += 1) {
    let best: { feature: string; to: number; gain: number; improved: number; worsened: number; moved: string[]; predictions: (number | null)[] } | undefined;
    for (const feature of features) {
      if (terms.some((term) => term.feature === feature)) continue;
      const from = weights.get(feature) ?? defaultWeight(feature);
      const grid = feature.startsWith("signal:") ? ONSET_LIMITS.weightGrid : ONSET_LIMITS.bonusGrid;
      for (const to of grid) {
        if (to === from) continue;
        const trial = new Map(weights).set(feature, to);
        const predictions = runs.map((run, index) => (run.steps.some((step) => step.features.includes(feature)) ? predict(run, trial) : current[index]!));
        let improved = 0;
        let worsened = 0;
        let gain = 0;
        const moved: string[] = [];
        runs.forEach((run, index) => {
          const delta = utility(predictions[index]!, run.gold) - utility(current[index]!, run.gold);
          gain += delta;
          if (delta > 0) improved += 1;
          if (delta < 0) worsened += 1;
          if (predictions[index] !== current[index]) moved.push(run.id);
        });
        gain /= runs.length;
        if (signTest(improved, worsened) > 0.05 || gain <= 1e-9) continue;
        if (!best || gain > best.gain + 1e-12) best = { feature, to, gain, improved, worsened, moved, predictions };
      }
    }
    if (!best) break;
    terms.push({ feature: best.feature, from: weights.get(best.feature) ?? defaultWeight(best.feature), to: best.to, improved: best.improved, worsened: best.worsened, cases: best.moved });
    weights.set(best.feature, best.to);
    current = best.predictions;
  }
  return { terms, runs: runs.length };
}

/** How near an onset is to the annotators': 2 exact, 1 within ±3 steps, 0 farther or none. */
function utility(predicted: number | null, gold: number): number {
  if (predicted === null) return 0;
  const distance = Math.abs(predicted - gold);
  return (distance === 0 ? 1 : 0) + (distance <= ONSET_LIMITS.near ? 1 : 0);
}

/**
 * The onset of a remembered run under learned weights: its offline onset while the weights pick the
 * same step as the offline weights do (the critic may have moved the offline onset; that stays),
 * otherwise the best step under the learned weights.
 */
function predict(run: TrainingRun, learned: Map<string, number>): number | null {
  if (learned.size === 0) return run.offline;
  const before = bestStep(run, new Map());
  const after = bestStep(run, learned);
  return after === before ? run.offline : after;
}

function bestStep(run: TrainingRun, learned: Map<string, number>, neverMade = run.neverMade): number | null {
  let best: { id: number; score: number } | undefined;
  for (const step of run.steps) {
    const score = stepScore(step.features, learned) + (neverMade && step.derailment ? NEVER_MADE_BONUS : 0);
    if (score > 0 && (!best || score > best.score)) best = { id: step.id, score };
  }
  return best?.id ?? null;
}

/** A step's onset score: the sum of its features' weights (learned where memory learned one). */
function stepScore(features: string[], learned: Map<string, number>): number {
  return features.reduce((sum, feature) => sum + (learned.get(feature) ?? defaultWeight(feature)), 0);
}

function trainingRun(id: string, calibration: CaseCalibration): TrainingRun | undefined {
  const gold = calibration.steps.find((step) => step.gold === "onset")?.step;
  if (gold === undefined) return undefined;
  const steps = agentSteps(calibration.steps);
  const offline = calibration.offline.onset;
  const withBonus = { id, steps, offline, gold, neverMade: true };
  const neverMade = bestStep(withBonus, new Map(), false) !== offline && bestStep(withBonus, new Map(), true) === offline;
  return { ...withBonus, neverMade };
}

/** The agent steps of a run with their onset features (other actors are never the onset). */
function agentSteps(steps: StepFeatures[]): TrainingRun["steps"] {
  const agent = steps.filter((step) => AGENT_ACTORS.has(step.actor));
  const firsts = new Map<string, number>();
  for (const step of agent) for (const feature of [`kind:${step.kind}`, ...(step.signals ?? []).map((signal) => `signal:${signal}`)]) if (!firsts.has(feature)) firsts.set(feature, step.step);
  return agent.map((step) => ({ id: step.step, features: onsetFeaturesOf(step, firsts), derailment: (step.signals ?? []).includes("derailment_start") }));
}

/** The onset model learned per set of cases (cached: many runs are diagnosed against the same memory). */
export const onsetModelFor = learnedPerCaseSet(learnOnsetModel);

/**
 * What memory adds to each step's offline onset score under a learned model: the learned weights of
 * its features minus their offline weights. Zero everywhere when the model has no term.
 */
export function onsetAdjustments(steps: StepFeatures[], model: OnsetModel): Map<number, number> {
  const adjustments = new Map<number, number>();
  if (model.terms.length === 0) return adjustments;
  const weights = new Map(model.terms.map((term) => [term.feature, term.to]));
  for (const step of agentSteps(steps)) {
    const delta = stepScore(step.features, weights) - stepScore(step.features, new Map());
    if (delta !== 0) adjustments.set(step.id, delta);
  }
  return adjustments;
}

/** A learned term in words, e.g. "a garbled call weighs 0 instead of 1 (nearer the annotators' onset in 6 remembered runs, farther in 0)". */
export function explainTerm(term: OnsetTerm): string {
  const [group, name] = term.feature.split(":") as [string, string];
  const what =
    group === "signal"
      ? `evidence "${name.replace(/_/g, " ")}" weighs ${term.to} instead of ${term.from}`
      : group === "kind"
        ? `a ${name} step gets ${signed(term.to)}`
        : group === "first"
          ? `the run's first ${describeFirst(term.feature)} gets ${signed(term.to)}`
          : `a step ${name} the offline onset gets ${signed(term.to)}`;
  return `${what} (onset nearer the annotators' in ${term.improved} remembered runs, farther in ${term.worsened})`;
}

function describeFirst(feature: string): string {
  const [, group, name] = feature.split(":") as [string, string, string];
  return group === "kind" ? `${name} step` : `step with evidence "${name.replace(/_/g, " ")}"`;
}

function signed(value: number): string {
  return value > 0 ? `+${value}` : String(value);
}
