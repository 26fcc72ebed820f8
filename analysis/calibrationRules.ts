import type { Evidence } from "../schema/diagnosis.js";
import type { Step } from "../schema/step.js";
import { keysOf, keyText, learnedPerCaseSet, stepFeatures, type CalibrationCase, type CaseCalibration, type Decision, type OfflineView, type StepFeatures, type StepKey } from "./calibration.js";

/**
 * Rules learned from confirmed cases: "steps like this one (same offline decision, same place
 * relative to the onset, same strongest evidence; narrower: also the same kind, repeated or not), the
 * annotators call <decision>" (the keys are analysis/calibration.ts `keysOf`). A rule is adopted
 * only when applying it to the remembered runs agrees better with their annotators on the scores the
 * labels are judged by (per run: incorrect-step F1 + unuseful-step F1), consistently across runs. Why per run and not per step: annotators label whole
 * runs, and within a run similar steps go together (one run with twenty identical garbled calls is
 * one opinion, not twenty); a per-step rate (a Beta posterior above ½) was tried first and, on the
 * dev sets' folds, undid correct offline decisions that a few long runs outvoted (see analysis/README.md).
 *
 * The bar a rule must clear is a one-sided sign test over the remembered runs that have such steps:
 * it must agree better with their annotators on significantly more runs than it agrees worse
 * (p ≤ 0.05, the textbook level, fixed in advance and not fitted: at least 5 runs better and none
 * worse, 7 better and 1 worse, …), and raise the mean agreement over all remembered runs. So a memory
 * of a few cases changes nothing, and one long run cannot carry a rule on its own.
 */
export const CALIBRATION_LIMITS = {
  /** Largest sign-test p-value (runs agreeing better vs worse, ties left out) at which a rule is adopted. */
  signTestLevel: 0.05,
  /** Rules adopted at most (greedy, best first). */
  maxRules: 12,
} as const;

export interface CalibrationRule {
  key: StepKey;
  to: Decision;
  /** Remembered runs with such steps, and how many of them the rule agreed better / worse with. */
  runs: number;
  improved: number;
  worsened: number;
  /** Such steps in the remembered runs, and what their annotators called them. */
  steps: number;
  gold: Record<Decision, number>;
  /** The remembered runs (case ids) with such steps: the evidence for the rule. */
  cases: string[];
}

interface KeyStats {
  key: StepKey;
  runs: Set<string>;
  steps: number;
  gold: Record<Decision, number>;
}

/** A step of a remembered run: its keys (narrowest first), what the rules adopted so far decide, what its annotator said. */
interface TrainingStep {
  run: number;
  keys: string[];
  decided: Decision;
  gold: Decision;
}

/**
 * How each remembered run's labels agree with its annotators, kept as counts (predicted and right,
 * per label), so that a trial rule is scored by walking only the steps it touches.
 */
class Agreement {
  private readonly counts: { predicted: Record<Decision, number>; right: Record<Decision, number>; gold: Record<Decision, number> }[];

  constructor(steps: TrainingStep[], runs: number) {
    const zero = () => ({ incorrect: 0, unuseful: 0, neither: 0 });
    this.counts = Array.from({ length: runs }, () => ({ predicted: zero(), right: zero(), gold: zero() }));
    for (const step of steps) {
      const count = this.counts[step.run]!;
      count.gold[step.gold] += 1;
      count.predicted[step.decided] += 1;
      if (step.decided === step.gold) count.right[step.decided] += 1;
    }
  }

  /** Incorrect-step F1 + unuseful-step F1 of a run, with some steps' decisions moved to `to`. */
  score(run: number, moved: TrainingStep[] = [], to?: Decision): number {
    const { predicted, right, gold } = this.counts[run]!;
    const after = { predicted: { ...predicted }, right: { ...right } };
    for (const step of moved) {
      after.predicted[step.decided] -= 1;
      if (step.decided === step.gold) after.right[step.decided] -= 1;
      after.predicted[to!] += 1;
      if (to === step.gold) after.right[to] += 1;
    }
    return f1(after.predicted.incorrect, after.right.incorrect, gold.incorrect) + f1(after.predicted.unuseful, after.right.unuseful, gold.unuseful);
  }

  /** Adopt a decision for some steps. */
  move(steps: TrainingStep[], to: Decision): void {
    for (const step of steps) {
      const count = this.counts[step.run]!;
      count.predicted[step.decided] -= 1;
      if (step.decided === step.gold) count.right[step.decided] -= 1;
      step.decided = to;
      count.predicted[to] += 1;
      if (to === step.gold) count.right[to] += 1;
    }
  }
}

/** Learn the rules from confirmed cases' calibration records (none when memory holds too few to say anything). */
export function learnRules(cases: { id: string; calibration: CaseCalibration }[]): CalibrationRule[] {
  const ordered = [...cases].sort((a, b) => a.id.localeCompare(b.id));
  const steps = ordered.flatMap((entry, run) => entry.calibration.steps.map((step) => trainingStep(step, run)));
  const stats = keyStats(ordered);
  // A rule over fewer runs than the sign test needs could never be adopted: skip those keys.
  const eligible = [...stats.entries()].filter(([, stat]) => signTest(stat.runs.size, 0) <= CALIBRATION_LIMITS.signTestLevel).sort(([a], [b]) => a.localeCompare(b));
  if (eligible.length === 0) return [];
  const withKey = new Map<string, TrainingStep[]>();
  for (const step of steps) for (const key of step.keys) withKey.set(key, withKey.get(key) ?? []).get(key)!.push(step);

  const agreement = new Agreement(steps, ordered.length);
  const rules = new Set<string>();
  const adopted: CalibrationRule[] = [];
  for (let round = 0; round < CALIBRATION_LIMITS.maxRules; round += 1) {
    let best: { text: string; to: Decision; gain: number; improved: number; worsened: number; moved: TrainingStep[] } | undefined;
    for (const [text, stat] of eligible) {
      if (rules.has(text)) continue;
      // The steps this key would decide: those with no narrower rule already deciding them.
      const governed = withKey.get(text)!.filter((step) => step.keys.find((key) => key === text || rules.has(key)) === text);
      for (const to of alternatives(stat.key)) {
        const moved = governed.filter((step) => step.decided !== to);
        const byRun = new Map<number, TrainingStep[]>();
        for (const step of moved) byRun.set(step.run, byRun.get(step.run) ?? []).get(step.run)!.push(step);
        let improved = 0;
        let worsened = 0;
        let gain = 0;
        for (const [run, changed] of byRun) {
          const delta = agreement.score(run, changed, to) - agreement.score(run);
          gain += delta;
          if (delta > 1e-9) improved += 1;
          if (delta < -1e-9) worsened += 1;
        }
        gain /= ordered.length;
        const consistent = signTest(improved, worsened) <= CALIBRATION_LIMITS.signTestLevel;
        if (consistent && gain > 1e-9 && (!best || gain > best.gain + 1e-12)) best = { text, to, gain, improved, worsened, moved };
      }
    }
    if (!best) break;
    rules.add(best.text);
    agreement.move(best.moved, best.to);
    const stat = stats.get(best.text)!;
    adopted.push({ key: stat.key, to: best.to, runs: stat.runs.size, improved: best.improved, worsened: best.worsened, steps: stat.steps, gold: stat.gold, cases: [...stat.runs].sort() });
  }
  return adopted;
}

/** Rules learned per set of cases (cached: many runs are diagnosed against the same memory). */
const rulesFor = learnedPerCaseSet(learnRules);

/** What calibration changed in a proposal, and the remembered cases that taught it. */
export interface ProposalCalibration {
  incorrect: number[];
  unuseful: number[];
  evidence: Evidence[];
  cases: string[];
}

/**
 * Calibrate an offline proposal's incorrect and unuseful steps with rules learned from confirmed
 * cases. Undefined when nothing changes (no cases, no rule, or no step of this run that a rule covers):
 * the proposal is then exactly the offline one.
 */
export function calibrateProposal(steps: Step[], proposal: OfflineView, cases: CalibrationCase[], notIncorrect: number[] = []): ProposalCalibration | undefined {
  if (cases.length === 0) return undefined;
  const rules = rulesFor(cases);
  if (rules.length === 0) return undefined;
  const result = applyRules(stepFeatures(steps, proposal), rules, notIncorrect);
  if (result.changes.length === 0) return undefined;
  return {
    incorrect: result.incorrect,
    unuseful: result.unuseful,
    evidence: result.changes.map(({ rule, steps: moved }) => ({ step_id: moved[0]!, why: explainRule(rule, moved), signal: "memory_calibration" })),
    cases: [...new Set(result.changes.flatMap(({ rule }) => rule.cases))].sort(),
  };
}

/** What the rules change in one run: its incorrect and unuseful steps, and which rule moved which steps. */
export interface Calibrated {
  incorrect: number[];
  unuseful: number[];
  changes: { rule: CalibrationRule; steps: number[] }[];
}

/**
 * Apply rules to a run's features (computed from its offline proposal). Steps a critic showed right
 * (`notIncorrect`) never become incorrect; the onset and other actors' steps are never touched.
 */
export function applyRules(features: StepFeatures[], rules: CalibrationRule[], notIncorrect: number[] = []): Calibrated {
  const byKey = new Map(rules.map((rule) => [keyText(rule.key), rule]));
  const incorrect: number[] = [];
  const unuseful: number[] = [];
  const moved = new Map<CalibrationRule, number[]>();
  for (const step of features) {
    const offline: Decision = step.offline ?? "neither";
    const rule = keysOf(step)
      .map((key) => byKey.get(keyText(key)))
      .find((found) => found !== undefined);
    const decided = rule && !(rule.to === "incorrect" && notIncorrect.includes(step.step)) ? rule.to : offline;
    if (decided === "incorrect") incorrect.push(step.step);
    if (decided === "unuseful") unuseful.push(step.step);
    if (rule && decided !== offline) moved.set(rule, [...(moved.get(rule) ?? []), step.step]);
  }
  return { incorrect, unuseful, changes: [...moved].map(([rule, steps]) => ({ rule, steps })) };
}

/**
 * A sentence a person can check: what the remembered annotators did with such steps and what changed
 * here, e.g. "memory: of 13 such steps (…) in 10 remembered runs, annotators marked 1 incorrect and 0
 * unuseful; …: steps 27, 33 are no longer incorrect".
 */
export function explainRule(rule: CalibrationRule, steps: number[]): string {
  const ids = steps.length > 8 ? `${steps.slice(0, 8).join(", ")} and ${steps.length - 8} more` : steps.join(", ");
  const plural = steps.length > 1;
  const now = rule.to === "neither" ? `no longer ${rule.key.offline}` : `now ${rule.to}`;
  return (
    `memory: of ${rule.steps} such steps (${describeKey(rule.key)}) in ${rule.runs} remembered runs, annotators marked ${rule.gold.incorrect} incorrect and ${rule.gold.unuseful} unuseful; ` +
    `calling them ${rule.to === "neither" ? "neither" : rule.to} agreed better with ${rule.improved} of those runs and worse with ${rule.worsened}: step${plural ? "s" : ""} ${ids} ${plural ? "are" : "is"} ${now}`
  );
}

/** A key in words, e.g. "after the onset, other step, empty turn, called incorrect offline". */
export function describeKey(key: StepKey): string {
  const where = { before: "before the onset", after: "after the onset", none: "no onset" }[key.relation];
  const evidence = key.strongest === "none" ? "no evidence" : key.strongest.replace(/_/g, " ");
  const narrow = key.kind === undefined ? "" : `, ${key.kind} step${key.repeated ? ", repeated" : ""}`;
  return `${where}, ${evidence}${narrow}, called ${key.offline} offline`;
}

/** The decisions a rule may take instead of the offline one; never incorrect before the onset (it is the earliest error). */
function alternatives(key: StepKey): Decision[] {
  const all: Decision[] = key.relation === "before" ? ["unuseful", "neither"] : ["incorrect", "unuseful", "neither"];
  return all.filter((decision) => decision !== key.offline);
}

function trainingStep(step: StepFeatures, run: number): TrainingStep {
  return { run, keys: keysOf(step).map(keyText), decided: step.offline ?? "neither", gold: goldDecision(step) };
}

function goldDecision(step: StepFeatures): Decision {
  return step.gold === "onset" || step.gold === "incorrect" ? "incorrect" : step.gold === "unuseful" ? "unuseful" : "neither";
}

function keyStats(cases: { id: string; calibration: CaseCalibration }[]): Map<string, KeyStats> {
  const stats = new Map<string, KeyStats>();
  for (const entry of cases) {
    for (const step of entry.calibration.steps) {
      const gold = goldDecision(step);
      for (const key of keysOf(step)) {
        const text = keyText(key);
        const stat = stats.get(text) ?? { key, runs: new Set<string>(), steps: 0, gold: { incorrect: 0, unuseful: 0, neither: 0 } };
        stat.runs.add(entry.id);
        stat.steps += 1;
        stat.gold[gold] += 1;
        stats.set(text, stat);
      }
    }
  }
  return stats;
}

/**
 * One-sided sign test: the chance of at least `better` of `better + worse` runs agreeing better if
 * better and worse were equally likely (runs where the rule changes nothing are ties, left out).
 */
export function signTest(better: number, worse: number): number {
  const n = better + worse;
  if (n === 0) return 1;
  let tail = 0;
  let choose = 1; // C(n, k), built up from C(n, 0)
  for (let k = 0; k <= n; k += 1) {
    if (k >= better) tail += choose;
    choose = (choose * (n - k)) / (k + 1);
  }
  return tail / 2 ** n;
}

/** Set F1 from counts, as eval scores it per run (both empty: 1). */
function f1(predicted: number, right: number, gold: number): number {
  if (predicted === 0 && gold === 0) return 1;
  return right === 0 ? 0 : (2 * right) / (predicted + gold);
}
