import type { BaseChatModel } from "@langchain/core/language_models/chat_models";
import { z } from "zod";
import { loadPrompt, renderPrompt } from "../prompts/index.js";
import { FailureCategory } from "../schema/diagnosis.js";
import { DEFAULT_LIMITS, runAgent, type AgentLimits, type AgentResult } from "./agentLoop.js";
import { describeConstraints, describeRun, type CritiqueConstraints } from "./describe.js";
import { createTraceTools, type TraceView } from "./traceTools.js";
import { untrusted } from "./untrusted.js";

/** The localizer's answer, exactly as the model must submit it (snake_case like diagnosis.json). */
export const LocalizerAnswer = z.object({
  onset_step_id: z.number().int().nullable().describe("the first decisive error step; null only when nothing went wrong"),
  incorrect_step_ids: z.array(z.number().int()).describe("agent steps that were wrong, the onset included"),
  unuseful_step_ids: z.array(z.number().int()).describe("agent steps that did not help but were not wrong"),
  error_chain: z.array(z.number().int()).describe("step ids from the onset to the symptom, in order"),
  failure_category: FailureCategory,
  confidence: z.number().min(0).max(1).describe("probability that the onset step is right"),
  summary: z.string().min(1).max(2_000).describe("one or two sentences: what went wrong at the onset and what followed"),
  evidence: z
    .array(z.object({ step_id: z.number().int(), why: z.string().min(1).max(500) }))
    .max(20)
    .describe("what each cited step shows, one sentence each"),
});
export type LocalizerAnswer = z.infer<typeof LocalizerAnswer>;

/** The offline localizer's proposal, in the few fields the agent needs as a starting hypothesis. */
export interface Hypothesis {
  onset: { step_id: number; summary: string } | null;
  incorrect_step_ids: number[];
  error_chain: number[];
  failure_category: string;
  evidence: { step_id: number; why: string }[];
}

export interface LocalizerRequest {
  model: BaseChatModel;
  trace: TraceView;
  hypothesis: Hypothesis;
  /** The critic's objection to the previous proposal, if it sent one back. */
  objection?: string | undefined;
  constraints?: CritiqueConstraints | undefined;
  /** Short diagnoses of similar past failures, from failure memory. */
  examples?: string[] | undefined;
  limits?: Partial<AgentLimits>;
}

/** Ask the localizer agent; it investigates with read-only tools and submits a checked answer. */
export async function runLocalizerAgent(request: LocalizerRequest): Promise<AgentResult<LocalizerAnswer>> {
  const limits = { ...DEFAULT_LIMITS, ...request.limits };
  const prompt = loadPrompt("localizer");
  const values = {
    ...describeRun(request.trace, limits.maxToolRounds),
    offline_proposal: describeHypothesis(request.hypothesis),
    objection: request.objection ? untrusted(request.objection) : "(none: this is the first round)",
    constraints: describeConstraints(request.constraints),
    examples: describeExamples(request.examples),
  };
  return runAgent({
    model: request.model,
    tools: createTraceTools(request.trace),
    submit: {
      name: "submit_diagnosis",
      description: "Submit your diagnosis of the run. Call exactly once, after investigating; every step id must exist in the trace.",
      schema: LocalizerAnswer,
      problems: (answer) => localizerProblems(answer, request.trace, request.constraints),
    },
    system: renderPrompt(prompt.system, values),
    user: renderPrompt(prompt.user, values),
    limits,
  });
}

/** Step ids that do not exist, and onsets the critic already ruled out, are sent back to the model. */
export function localizerProblems(answer: LocalizerAnswer, trace: TraceView, constraints: CritiqueConstraints = {}): string[] {
  const known = new Set(trace.steps.map((step) => step.id));
  const range = `steps are numbered 1..${trace.steps.length}`;
  const problems: string[] = [];
  if (answer.onset_step_id !== null && !known.has(answer.onset_step_id)) problems.push(`onset_step_id ${answer.onset_step_id} is not a step of this trace (${range})`);
  const lists = { incorrect_step_ids: answer.incorrect_step_ids, unuseful_step_ids: answer.unuseful_step_ids, error_chain: answer.error_chain, evidence: answer.evidence.map((item) => item.step_id) };
  for (const [field, ids] of Object.entries(lists)) {
    const unknown = [...new Set(ids.filter((id) => !known.has(id)))];
    if (unknown.length > 0) problems.push(`${field} names steps that do not exist: ${unknown.join(", ")} (${range})`);
  }
  const onset = answer.onset_step_id;
  if (onset !== null && constraints.exclude?.includes(onset)) problems.push(`step ${onset} was ruled out as the onset by the critic`);
  if (onset !== null && constraints.notAfter !== undefined && onset > constraints.notAfter) problems.push(`the onset must be at or before step ${constraints.notAfter} (critic's constraint)`);
  const blamed = onset === null ? answer.incorrect_step_ids : [onset, ...answer.incorrect_step_ids];
  const vindicated = [...new Set(blamed.filter((id) => constraints.notIncorrect?.includes(id)))];
  if (vindicated.length > 0) problems.push(`steps ${vindicated.join(", ")} were shown right by later checks (critic) and may not be incorrect`);
  return problems;
}

/**
 * The last answer after the repairs ran out: unknown ids (and steps the critic showed right) are
 * dropped from the lists, but an onset that does not exist or breaks a constraint cannot be
 * repaired — undefined means "reject it".
 */
export function repairLocalizerAnswer(answer: LocalizerAnswer, trace: TraceView, constraints: CritiqueConstraints = {}): LocalizerAnswer | undefined {
  const known = new Set(trace.steps.map((step) => step.id));
  const onset = answer.onset_step_id;
  if (onset !== null && (!known.has(onset) || constraints.exclude?.includes(onset) || (constraints.notAfter !== undefined && onset > constraints.notAfter))) return undefined;
  const keep = (ids: number[]) => ids.filter((id) => known.has(id));
  if (onset !== null && constraints.notIncorrect?.includes(onset)) return undefined;
  return {
    ...answer,
    incorrect_step_ids: keep(answer.incorrect_step_ids).filter((id) => !constraints.notIncorrect?.includes(id)),
    unuseful_step_ids: keep(answer.unuseful_step_ids),
    error_chain: keep(answer.error_chain),
    evidence: answer.evidence.filter((item) => known.has(item.step_id)),
  };
}

function describeHypothesis(hypothesis: Hypothesis): string {
  if (!hypothesis.onset) return `No onset found offline (category ${hypothesis.failure_category}).`;
  const evidence = hypothesis.evidence.slice(0, 12).map((item) => `step ${item.step_id}: ${item.why}`).join("\n");
  return [
    `onset step ${hypothesis.onset.step_id}, category ${hypothesis.failure_category}`,
    `incorrect steps: ${hypothesis.incorrect_step_ids.join(", ") || "none"}; error chain: ${hypothesis.error_chain.join(" → ") || "none"}`,
    // Summaries and evidence quote the trajectory, so they are data too.
    untrusted(`${hypothesis.onset.summary}\n${evidence}`),
  ].join("\n");
}

function describeExamples(examples: string[] | undefined): string {
  if (!examples || examples.length === 0) return "(none)";
  return examples.slice(0, 5).map((example, index) => `Example ${index + 1}:\n${untrusted(example.slice(0, 2_000))}`).join("\n");
}
