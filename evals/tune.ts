import { buildContext, collectSignals, type RunContext, type Signal, type SignalKind } from "../analysis/evidence.js";
import { DEFAULT_MODEL, scoreSteps, type ScoringModel } from "../analysis/scoring.js";
import { resolveRef } from "./refs.js";
import type { AnalysedRun } from "./run.js";

/**
 * Robustness check of the scoring model's weights: are the hand-set weights near what the data
 * would pick, and does picking them on one set carry over to another? Evidence does not depend on
 * the weights, so each run's signals are computed once and only the scoring is repeated.
 */
export interface PreparedRun {
  id: string;
  gold: number | null;
  context: RunContext;
  signals: Signal[];
}

export function prepareRuns(runs: AnalysedRun[]): PreparedRun[] {
  return runs
    .filter(({ record }) => record.labels.onset !== undefined)
    .map(({ record, analysis, checks }) => {
      const context = buildContext({ steps: analysis.trace.steps, outcome: analysis.trace.run.outcome, task: analysis.trace.run.task, checks });
      return { id: record.id, gold: resolveRef(record.labels.onset!, analysis.trace.steps) ?? null, context, signals: collectSignals(context) };
    });
}

/** Share of runs whose best-scoring step is the gold onset (the critic is left out: it rarely moves the onset). */
export function onsetExact(runs: PreparedRun[], model: ScoringModel): number {
  if (runs.length === 0) return 0;
  return runs.filter((run) => run.gold !== null && scoreSteps(run.context, run.signals, model)[0]?.step_id === run.gold).length / runs.length;
}

/** The weights searched, in groups of signals that play the same role. */
const GRID: { name: string; kinds: SignalKind[]; values: number[] }[] = [
  { name: "target_origin", kinds: ["target_origin"], values: [2, 3, 4] },
  { name: "named faults", kinds: ["missing_dependency", "workaround_fabrication", "interactive_misuse", "session_bound_service"], values: [2, 3, 4] },
  { name: "derailment_start", kinds: ["derailment_start"], values: [1, 2, 3] },
  { name: "never-made bonus", kinds: [], values: [1, 2, 3] },
  { name: "malformed_call", kinds: ["malformed_call"], values: [0.5, 1, 1.5] },
  { name: "first_implementation", kinds: ["first_implementation"], values: [1, 1.5, 2] },
];

function modelOf(choice: number[]): ScoringModel {
  const weights = { ...DEFAULT_MODEL.weights };
  GRID.forEach((group, index) => group.kinds.forEach((kind) => (weights[kind] = choice[index]!)));
  return { weights, neverMadeBonus: choice[3]! };
}

const DEFAULT_CHOICE = GRID.map((group, index) => (index === 3 ? DEFAULT_MODEL.neverMadeBonus : DEFAULT_MODEL.weights[group.kinds[0]!]));

function* choices(index = 0, prefix: number[] = []): Generator<number[]> {
  if (index === GRID.length) {
    yield prefix;
    return;
  }
  for (const value of GRID[index]!.values) yield* choices(index + 1, [...prefix, value]);
}

/** Which runs each grid point gets exactly right: computed once, then every tuning is counting. */
interface HitTable {
  choices: number[][];
  hits: boolean[][];
}

function hitTable(runs: PreparedRun[]): HitTable {
  const all = [...choices()];
  return { choices: all, hits: all.map((choice) => runs.map((run) => onsetExact([run], modelOf(choice)) === 1)) };
}

/** The grid point with the best onset accuracy on the selected runs; ties go to the point closest to the defaults. */
function bestChoice(table: HitTable, selected: number[]): { choice: number[]; exact: number } {
  let best = { choice: DEFAULT_CHOICE, hits: -1, distance: Infinity };
  table.choices.forEach((choice, index) => {
    const hits = selected.filter((run) => table.hits[index]![run]).length;
    const distance = choice.reduce((sum, value, at) => sum + Math.abs(value - DEFAULT_CHOICE[at]!), 0);
    if (hits > best.hits || (hits === best.hits && distance < best.distance)) best = { choice, hits, distance };
  });
  return { choice: best.choice, exact: selected.length ? best.hits / selected.length : 0 };
}

export function tuneWeights(runs: PreparedRun[]): { choice: number[]; exact: number } {
  return bestChoice(hitTable(runs), runs.map((_, index) => index));
}

export interface CrossCheck {
  defaults: Record<string, number>;
  tuned: { on: string; weights: Record<string, number>; train: number; test: Record<string, number> }[];
  leaveOneOut: { runs: number; exact: number };
}

/** Default weights on each set; weights tuned on each set and tested on the other; leave-one-out over all. */
export function crossCheck(sets: Record<string, PreparedRun[]>): CrossCheck {
  const names = Object.keys(sets);
  const all = names.flatMap((name) => sets[name]!);
  const table = hitTable(all);
  const indexesOf = (name: string) => {
    const start = names.slice(0, names.indexOf(name)).reduce((sum, other) => sum + sets[other]!.length, 0);
    return sets[name]!.map((_, index) => start + index);
  };
  const accuracy = (choice: number[], selected: number[]) => {
    const row = table.choices.findIndex((candidate) => candidate.every((value, index) => value === choice[index]));
    return selected.length ? selected.filter((run) => table.hits[row]![run]).length / selected.length : 0;
  };
  const defaults = Object.fromEntries(names.map((name) => [name, onsetExact(sets[name]!, DEFAULT_MODEL)]));
  const tuned = names.map((name) => {
    const { choice, exact } = bestChoice(table, indexesOf(name));
    return {
      on: name,
      weights: Object.fromEntries(GRID.map((group, index) => [group.name, choice[index]!])),
      train: exact,
      test: Object.fromEntries(names.filter((other) => other !== name).map((other) => [other, accuracy(choice, indexesOf(other))])),
    };
  });
  let hits = 0;
  all.forEach((_, held) => {
    const { choice } = bestChoice(table, all.map((__, index) => index).filter((index) => index !== held));
    if (accuracy(choice, [held]) === 1) hits += 1;
  });
  return { defaults, tuned, leaveOneOut: { runs: all.length, exact: all.length ? hits / all.length : 0 } };
}

export function formatCrossCheck(check: CrossCheck): string {
  const pct = (value: number) => `${(value * 100).toFixed(1)}%`;
  const lines = [
    "weight robustness (onset exact, top-scoring step, no critic):",
    ...Object.entries(check.defaults).map(([name, exact]) => `  default weights on ${name}: ${pct(exact)}`),
    ...check.tuned.map((entry) => `  tuned on ${entry.on} (${pct(entry.train)}): ${Object.entries(entry.test).map(([name, exact]) => `${name} ${pct(exact)}`).join(", ")}; weights ${JSON.stringify(entry.weights)}`),
    `  leave-one-out over ${check.leaveOneOut.runs} runs (tuned on the others each time): ${pct(check.leaveOneOut.exact)}`,
  ];
  return lines.join("\n");
}
