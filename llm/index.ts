import type { BaseChatModel } from "@langchain/core/language_models/chat_models";
import type { FailingCheck } from "../analysis/checks.js";
import type { Verdict } from "../analysis/critique.js";
import type { Constraints, Proposal } from "../analysis/localize.js";
import type { AnalyzeOptions } from "../graphs/state.js";
import type { Evidence } from "../schema/diagnosis.js";
import type { Step } from "../schema/step.js";
import type { Outcome, Stage } from "../schema/trace.js";
import { NO_COST, type AgentLimits, type LlmCost, type ToolUse } from "./agentLoop.js";
import { createChatModel, resolveLlmConfig } from "./config.js";
import { runCriticAgent, type CriticAnswer } from "./criticAgent.js";
import { repairLocalizerAnswer, runLocalizerAgent, type LocalizerAnswer } from "./localizerAgent.js";
import { stageOf } from "../analysis/stages.js";
import type { TraceView } from "./traceTools.js";

/**
 * The two functions the graph's `localize` and `critique` nodes call in LLM mode. Both take the
 * offline result as input and fall back to it — recorded in `fallback` — whenever the agent gives no
 * usable answer within its bounds (or the endpoint fails): LLM mode always yields an answer of the same shape.
 */
export { llmEnabled, resolveLlmConfig, createChatModel, DEFAULT_MODEL } from "./config.js";
export { READ_ONLY_TOOL_NAMES } from "./traceTools.js";
export { addCost, NO_COST, type LlmCost } from "./agentLoop.js";

/** Which model to talk to: an explicit one (tests, callers that reuse a client), or resolved from options + env. */
export interface LlmConnection {
  model?: BaseChatModel | undefined;
  options?: Pick<AnalyzeOptions, "llm"> | undefined;
  env?: NodeJS.ProcessEnv | undefined;
  limits?: Partial<AgentLimits> | undefined;
}

/** The trace as graph state holds it. */
export interface TraceInput {
  steps: Step[];
  stages: Stage[];
  outcome?: Outcome | undefined;
  task?: string | undefined;
  /** state.failingChecks: the failing checks with full reports, when `localize` has read them. */
  checks?: FailingCheck[] | undefined;
}

/** How an LLM step went: who produced the answer, what it cost, and why it fell back if it did. */
export interface LlmStepReport {
  strategy: "llm" | "offline";
  cost: LlmCost;
  /** Set when the offline answer was kept (or the LLM answer was repaired): the reason, one line. */
  fallback?: string;
  toolUses: ToolUse[];
}

export interface LlmLocalizeInput extends TraceInput, LlmConnection {
  /** The offline localizer's proposal: the agent's starting hypothesis and the fallback. */
  offline: Proposal;
  constraints?: Constraints | undefined;
  /** The critic's objection to the previous proposal (last critique round), if any. */
  objection?: string | undefined;
  /** Short diagnoses of similar past failures, from failure memory. */
  examples?: string[] | undefined;
}

export interface LlmLocalization extends LlmStepReport {
  proposal: Proposal;
}

/** LLM localizer: investigate the trace from the offline hypothesis and propose onset, steps and chain. */
export async function llmLocalize(input: LlmLocalizeInput): Promise<LlmLocalization> {
  const model = await connect(input);
  if (!model) return { proposal: input.offline, strategy: "offline", cost: NO_COST, fallback: "no LLM configured", toolUses: [] };
  const trace = traceView(input);
  const result = await runLocalizerAgent({ model, trace, hypothesis: input.offline, objection: input.objection, constraints: input.constraints, examples: input.examples, limits: input.limits });
  const report = { cost: result.cost, toolUses: result.toolUses };
  if (result.status === "submitted") return { proposal: toProposal(result.answer, input), strategy: "llm", ...report };
  const repaired = result.lastAnswer && repairLocalizerAnswer(result.lastAnswer, trace, input.constraints);
  if (repaired) return { proposal: toProposal(repaired, input), strategy: "llm", fallback: `${result.reason}; unknown step ids were dropped from the last answer`, ...report };
  return { proposal: input.offline, strategy: "offline", fallback: `${result.reason}; kept the offline proposal`, ...report };
}

export interface LlmCritiqueInput extends TraceInput, LlmConnection {
  proposal: Proposal;
  /** The deterministic critic's verdict on the same proposal: shown to the agent and the fallback. */
  offline: Verdict;
  /** The constraints in force this round; a rejection adds to them. */
  constraints?: Constraints | undefined;
}

export interface LlmCritique extends LlmStepReport {
  verdict: Verdict;
}

/** LLM critic: check the proposal against the trace; accept, or send it back with an objection and constraints. */
export async function llmCritique(input: LlmCritiqueInput): Promise<LlmCritique> {
  const model = await connect(input);
  if (!model) return { verdict: input.offline, strategy: "offline", cost: NO_COST, fallback: "no LLM configured", toolUses: [] };
  // The critic checks an onset; it never invents one, so a proposal without onset has nothing to check.
  if (!input.proposal.onset) return { verdict: input.offline, strategy: "offline", cost: NO_COST, fallback: "the proposal names no onset to check", toolUses: [] };
  const result = await runCriticAgent({ model, trace: traceView(input), proposal: input.proposal, offlineVerdict: input.offline, limits: input.limits });
  const report = { cost: result.cost, toolUses: result.toolUses };
  if (result.status !== "submitted") return { verdict: input.offline, strategy: "offline", fallback: `${result.reason}; kept the offline verdict`, ...report };
  const answer = result.answer;
  if (answer.accepted) return { verdict: { accepted: true }, strategy: "llm", ...report };
  return { verdict: { accepted: false, objection: answer.objection.trim(), constraints: tighten(input.constraints ?? {}, answer) }, strategy: "llm", ...report };
}

/** A rejection adds to the constraints already in force; it never lifts one. */
function tighten(previous: Constraints, answer: CriticAnswer): Constraints {
  const exclude = [...new Set([...(previous.exclude ?? []), ...answer.exclude_step_ids])];
  const notIncorrect = [...new Set([...(previous.notIncorrect ?? []), ...answer.not_incorrect_step_ids])];
  const notAfter = [previous.notAfter, answer.onset_not_after ?? undefined].filter((id): id is number => id !== undefined);
  return {
    ...previous,
    ...(exclude.length > 0 ? { exclude } : {}),
    ...(notIncorrect.length > 0 ? { notIncorrect } : {}),
    ...(notAfter.length > 0 ? { notAfter: Math.min(...notAfter) } : {}),
  };
}

async function connect(connection: LlmConnection): Promise<BaseChatModel | undefined> {
  if (connection.model) return connection.model;
  const config = resolveLlmConfig(connection.options?.llm ?? "auto", connection.env ?? process.env);
  return config ? createChatModel(config) : undefined;
}

function traceView(input: TraceInput): TraceView {
  return { steps: input.steps, stages: input.stages, outcome: input.outcome, task: input.task, checks: input.checks };
}

/**
 * The agent's answer in the shape of the offline proposal. Fields the model does not produce (and
 * any the offline Proposal gains later) are kept from the offline proposal; the onset is always in
 * the incorrect steps and heads the error chain; the offline evidence stays beside the model's.
 */
function toProposal(answer: LocalizerAnswer, input: LlmLocalizeInput): Proposal {
  const onsetId = answer.onset_step_id;
  const incorrect = sortedUnique(onsetId === null ? answer.incorrect_step_ids : [onsetId, ...answer.incorrect_step_ids]);
  const chain = onsetId === null ? sortedUnique(answer.error_chain) : sortedUnique([onsetId, ...answer.error_chain.filter((id) => id > onsetId)]);
  const evidence: Evidence[] = [...answer.evidence.map((item) => ({ ...item, signal: "llm_localizer" })), ...input.offline.evidence];
  return {
    ...input.offline,
    onset: onsetId === null ? null : { step_id: onsetId, stage_id: stageOf(input.stages, onsetId)?.id ?? 1, confidence: answer.confidence, summary: answer.summary },
    incorrect_step_ids: incorrect,
    unuseful_step_ids: sortedUnique(answer.unuseful_step_ids).filter((id) => !incorrect.includes(id)),
    error_chain: chain,
    failure_category: answer.failure_category,
    evidence,
  };
}

function sortedUnique(ids: number[]): number[] {
  return [...new Set(ids)].sort((a, b) => a - b);
}
