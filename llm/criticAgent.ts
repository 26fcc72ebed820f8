import type { BaseChatModel } from "@langchain/core/language_models/chat_models";
import { z } from "zod";
import { loadPrompt, renderPrompt } from "../prompts/index.js";
import { DEFAULT_LIMITS, runAgent, type AgentLimits, type AgentResult } from "./agentLoop.js";
import { describeRun } from "./describe.js";
import { createTraceTools, type TraceView } from "./traceTools.js";
import { untrusted } from "./untrusted.js";

/** The critic's verdict, exactly as the model must submit it. */
export const CriticAnswer = z.object({
  accepted: z.boolean(),
  objection: z.string().max(1_500).describe("empty when accepted; otherwise which check failed, naming step ids"),
  checks: z
    .object({
      agent_step: z.boolean().describe("the onset is an agent step"),
      before_first_symptom: z.boolean().describe("no earlier agent step already shows the failure"),
      chain_connected: z.boolean().describe("the error chain leads from the onset to what the failing checks test"),
      not_contradicted: z.boolean().describe("no incorrect step is shown right by later success"),
    })
    .describe("the outcome of each check"),
  exclude_step_ids: z.array(z.number().int()).describe("steps that must not be the onset next time (the rejected onset, when it is wrong)"),
  onset_not_after: z.number().int().nullable().describe("the onset must be at or before this step, or null"),
  not_incorrect_step_ids: z.array(z.number().int()).describe("steps marked incorrect that later success shows were right"),
});
export type CriticAnswer = z.infer<typeof CriticAnswer>;

/** The proposal under review, in the fields the critic reads (a subset of analysis/localize.ts `Proposal`). */
export interface ProposalUnderReview {
  onset: { step_id: number; stage_id: number; confidence: number; summary: string } | null;
  incorrect_step_ids: number[];
  unuseful_step_ids: number[];
  error_chain: number[];
  failure_category: string;
  evidence: { step_id: number; why: string }[];
}

export interface CriticRequest {
  model: BaseChatModel;
  trace: TraceView;
  proposal: ProposalUnderReview;
  /** What the deterministic critic said, as a second opinion for the model to confirm or overrule. */
  offlineVerdict: { accepted: boolean; objection?: string | undefined };
  limits?: Partial<AgentLimits>;
}

/** Ask the critic agent; it checks the proposal against the trace with read-only tools. */
export async function runCriticAgent(request: CriticRequest): Promise<AgentResult<CriticAnswer>> {
  const limits = { ...DEFAULT_LIMITS, ...request.limits };
  const prompt = loadPrompt("critic");
  const values = {
    ...describeRun(request.trace, limits.maxToolRounds),
    proposal: describeProposal(request.proposal),
    offline_verdict: request.offlineVerdict.accepted ? "accepted" : `rejected: ${untrusted(request.offlineVerdict.objection ?? "(no reason given)")}`,
  };
  return runAgent({
    model: request.model,
    tools: createTraceTools(request.trace),
    submit: {
      name: "submit_verdict",
      description: "Submit your verdict on the proposal. Call exactly once, after checking it against the trace.",
      schema: CriticAnswer,
      problems: (answer) => criticProblems(answer, request.trace, request.proposal),
    },
    system: renderPrompt(prompt.system, values),
    user: renderPrompt(prompt.user, values),
    limits,
  });
}

/** A rejection must say why, and its constraints must name real steps that leave the localizer a choice. */
export function criticProblems(answer: CriticAnswer, trace: TraceView, proposal: ProposalUnderReview): string[] {
  const known = new Set(trace.steps.map((step) => step.id));
  const problems: string[] = [];
  if (!answer.accepted && answer.objection.trim() === "") problems.push("a rejection needs an objection naming the failed check and step ids");
  for (const [field, ids] of Object.entries({ exclude_step_ids: answer.exclude_step_ids, not_incorrect_step_ids: answer.not_incorrect_step_ids })) {
    const unknown = ids.filter((id) => !known.has(id));
    if (unknown.length > 0) problems.push(`${field} names steps that do not exist: ${unknown.join(", ")} (steps are 1..${trace.steps.length})`);
  }
  if (answer.onset_not_after !== null && !known.has(answer.onset_not_after)) problems.push(`onset_not_after ${answer.onset_not_after} is not a step of this trace`);
  const onset = proposal.onset?.step_id;
  if (answer.accepted && onset !== undefined && answer.exclude_step_ids.includes(onset)) problems.push(`you accepted the proposal but excluded its onset step ${onset}; decide one way`);
  return problems;
}

function describeProposal(proposal: ProposalUnderReview): string {
  const onset = proposal.onset;
  const facts = [
    onset ? `onset: step ${onset.step_id} (stage ${onset.stage_id}), confidence ${onset.confidence}` : "onset: none",
    `failure category: ${proposal.failure_category}`,
    `incorrect steps: ${proposal.incorrect_step_ids.join(", ") || "none"}`,
    `unuseful steps: ${proposal.unuseful_step_ids.join(", ") || "none"}`,
    `error chain: ${proposal.error_chain.join(" → ") || "none"}`,
  ];
  // The summary and the evidence quote the trajectory (and may come from another model): data, not instructions.
  const quoted = [onset ? `summary: ${onset.summary}` : "", ...proposal.evidence.slice(0, 15).map((item) => `evidence, step ${item.step_id}: ${item.why}`)].filter(Boolean);
  return `${facts.join("\n")}\n${untrusted(quoted.join("\n") || "(no evidence)")}`;
}
