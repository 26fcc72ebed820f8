import { z } from "zod";
import { errorMessage } from "../../schema/errors.js";
import type { ExtractorSpec } from "../../schema/extractorSpec.js";
import type { Step } from "../../schema/step.js";
import { runSpec, sourceKey, type SpecExtraction } from "../specEngine.js";
import type { RunFiles } from "../types.js";

/**
 * The one validator every candidate spec goes through (induced offline, written by an LLM, imported
 * by a user): run it, then measure how well its steps account for the records it read.
 */
export const SpecMetrics = z.object({
  /** Distinct records the spec's streams read. */
  records: z.number().int(),
  /** Records that are the source of some step. */
  covered: z.number().int(),
  coverage: z.number(),
  steps: z.number().int(),
  tool_steps: z.number().int(),
  /** Share of tool steps that have an observation (action ↔ observation alternation). */
  paired: z.number(),
  /** Steps with no text, thought, tool or observation. */
  empty_steps: z.number().int(),
  /** Records claimed by two or more steps. */
  claimed_twice: z.number().int(),
  /** Steps whose action record comes before the previous step's. */
  out_of_order: z.number().int(),
  /** Share of consecutive timestamped steps whose time does not go back. */
  monotone: z.number(),
  warnings: z.number().int(),
  score: z.number(),
  acceptable: z.boolean(),
  problems: z.array(z.string()),
});
export type SpecMetrics = z.infer<typeof SpecMetrics>;

/** Below these a spec is not good enough to read a run with. */
const MIN_COVERAGE = 0.5;
const MIN_CONTENT_SHARE = 0.5;

export interface SpecValidation {
  metrics: SpecMetrics;
  extraction?: SpecExtraction;
}

export async function validateSpec(spec: ExtractorSpec, run: RunFiles): Promise<SpecValidation> {
  try {
    const extraction = await runSpec(spec, run);
    return { metrics: measure(extraction), extraction };
  } catch (err) {
    return { metrics: failed(`the spec could not read the run: ${errorMessage(err)}`) };
  }
}

function failed(problem: string): SpecMetrics {
  return { records: 0, covered: 0, coverage: 0, steps: 0, tool_steps: 0, paired: 0, empty_steps: 0, claimed_twice: 0, out_of_order: 0, monotone: 1, warnings: 0, score: 0, acceptable: false, problems: [problem] };
}

export function measure({ extracted, report }: SpecExtraction): SpecMetrics {
  const steps = extracted.steps;
  const order = new Map<string, number>();
  report.records.forEach((source, index) => {
    const key = sourceKey(source);
    if (!order.has(key)) order.set(key, index);
  });
  const claims = new Map<string, number>();
  for (const step of steps) for (const key of new Set(step.sources.map(sourceKey))) claims.set(key, (claims.get(key) ?? 0) + 1);
  const records = order.size;
  const covered = [...order.keys()].filter((key) => claims.has(key)).length;
  const claimedTwice = [...claims.values()].filter((count) => count > 1).length;
  const toolSteps = steps.filter((step) => step.tool);
  const paired = toolSteps.length === 0 ? 0 : toolSteps.filter((step) => step.observation).length / toolSteps.length;
  const emptySteps = steps.filter((step) => !step.text && !step.thought && !step.tool && !step.observation).length;
  const outOfOrder = countOutOfOrder(steps, order);
  const monotone = monotoneShare(steps);
  const coverage = records === 0 ? 0 : covered / records;
  const contentShare = steps.length === 0 ? 0 : 1 - emptySteps / steps.length;
  const score =
    0.35 * coverage +
    0.15 * contentShare +
    0.1 * (toolSteps.length > 0 ? paired : 0.5) +
    0.1 * (toolSteps.length > 0 ? 1 : 0.6) +
    0.1 * (records === 0 ? 0 : 1 - claimedTwice / records) +
    0.1 * (steps.length === 0 ? 0 : 1 - outOfOrder / steps.length) +
    0.1 * monotone;
  const problems = describeProblems({ records, covered, coverage, steps, emptySteps, claimedTwice, outOfOrder, toolSteps: toolSteps.length, paired, monotone }, report.records, claims);
  const acceptable = steps.length > 0 && coverage >= MIN_COVERAGE && contentShare >= MIN_CONTENT_SHARE && claimedTwice <= 0.1 * records;
  return {
    records,
    covered,
    coverage: round(coverage),
    steps: steps.length,
    tool_steps: toolSteps.length,
    paired: round(paired),
    empty_steps: emptySteps,
    claimed_twice: claimedTwice,
    out_of_order: outOfOrder,
    monotone: round(monotone),
    warnings: extracted.warnings?.count ?? 0,
    score: round(score),
    acceptable,
    problems,
  };
}

function round(value: number): number {
  return Math.round(value * 1000) / 1000;
}

function countOutOfOrder(steps: Step[], order: Map<string, number>): number {
  let previous = -1;
  let count = 0;
  for (const step of steps) {
    const position = order.get(sourceKey(step.sources[0]!));
    if (position === undefined) continue;
    if (position < previous) count += 1;
    previous = position;
  }
  return count;
}

function monotoneShare(steps: Step[]): number {
  const times = steps.map((step) => (step.timestamp ? Date.parse(step.timestamp) : Number.NaN)).filter((time) => !Number.isNaN(time));
  if (times.length < 2) return 1;
  let ordered = 0;
  for (let index = 1; index < times.length; index += 1) if (times[index]! >= times[index - 1]!) ordered += 1;
  return ordered / (times.length - 1);
}

interface Counts {
  records: number;
  covered: number;
  coverage: number;
  steps: Step[];
  emptySteps: number;
  claimedTwice: number;
  outOfOrder: number;
  toolSteps: number;
  paired: number;
  monotone: number;
}

/** What is wrong, in sentences a person (or the LLM repairing the spec) can act on. */
function describeProblems(counts: Counts, records: SpecExtraction["report"]["records"], claims: Map<string, number>): string[] {
  const problems: string[] = [];
  if (counts.records === 0) problems.push("the streams read no records: check `files`, `decode` and `records`");
  if (counts.steps.length === 0 && counts.records > 0) problems.push(`no steps from ${counts.records} records: no rule emitted a step`);
  if (counts.records > 0 && counts.coverage < 1) {
    const first = records.find((source) => !claims.has(sourceKey(source)));
    const where = first ? ` (first unclaimed: ${first.path}${first.pointer !== undefined ? ` ${first.pointer || "/"}` : ""}${first.line ? ` line ${first.line}` : ""})` : "";
    problems.push(`${counts.records - counts.covered} of ${counts.records} records are not the source of any step${where}`);
  }
  if (counts.emptySteps > 0) problems.push(`${counts.emptySteps} steps have no text, thought, tool or observation`);
  if (counts.claimedTwice > 0) problems.push(`${counts.claimedTwice} records are claimed by more than one step`);
  if (counts.outOfOrder > 0) problems.push(`${counts.outOfOrder} steps come before the step they follow in the log`);
  if (counts.toolSteps > 0 && counts.paired < 0.5) problems.push(`only ${Math.round(counts.paired * 100)}% of tool calls have an observation: check the pairing`);
  if (counts.monotone < 0.9) problems.push("timestamps go backwards between steps");
  return problems;
}

/** Higher is better; ties go to the spec that yields more tool steps, then to the larger stream. */
export function compareMetrics(a: SpecMetrics, b: SpecMetrics): number {
  if (a.acceptable !== b.acceptable) return a.acceptable ? -1 : 1;
  if (Math.abs(a.score - b.score) > 1e-9) return b.score - a.score;
  if (a.tool_steps !== b.tool_steps) return b.tool_steps - a.tool_steps;
  return b.records - a.records;
}
