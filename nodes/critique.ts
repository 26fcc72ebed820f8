import { critiqueProposal, type Verdict } from "../analysis/critique.js";
import { MAX_CRITIQUE_ROUNDS, required, type DiagnoseStateType, type DiagnoseUpdate } from "../graphs/state.js";
import { addCost, llmCritique, llmEnabled, NO_COST, type LlmCost } from "../llm/index.js";
import type { Diagnosis } from "../schema/diagnosis.js";

/**
 * Check the localizer's proposal. Rejected proposals go back with the objection as constraints; once
 * one is accepted, or the budget is spent, it becomes the diagnosis (with every round on record).
 * With an LLM, the critic agent decides, shown the deterministic critic's verdict (its fallback).
 */
export async function critique(state: DiagnoseStateType): Promise<DiagnoseUpdate> {
  const proposal = required(state.proposal, "proposal");
  const input = { steps: state.steps, outcome: state.runInfo?.outcome, task: state.runInfo?.task, checks: state.failingChecks };
  const offline = critiqueProposal(proposal, input, state.constraints);
  const round = state.critiqueRounds.length + 1;
  const { verdict, llm } = llmEnabled(state.options) ? await askCritic(state, offline, round) : { verdict: offline, llm: undefined };

  const rounds = [
    ...state.critiqueRounds,
    { round, proposed_onset: proposal.onset?.step_id ?? null, accepted: verdict.accepted, ...(verdict.objection ? { objection: verdict.objection } : {}) },
  ];
  const spent = llm ? { llmCost: llm.cost, llmFallbacks: llm.fallbacks } : {};
  if (!verdict.accepted && rounds.length < MAX_CRITIQUE_ROUNDS) {
    return { ...spent, critiqueRounds: rounds, constraints: verdict.constraints ?? state.constraints };
  }
  // Defaults as in graphs/state.ts, for callers that run the node by hand.
  const cost = addCost(state.llmCost ?? NO_COST, llm?.cost ?? NO_COST);
  const fallbacks = [...(state.llmFallbacks ?? []), ...(llm?.fallbacks ?? [])];
  const cases = state.recall?.cases ?? [];
  const diagnosis: Diagnosis = {
    ...proposal,
    strategy: state.proposalBy === "llm" || llm?.answered ? "llm" : "offline",
    cost: { ...cost, seconds: (Date.now() - state.startedAt) / 1000 },
    critique: rounds,
    ...(cases.length ? { cases_used: [...cases.map((entry) => ({ id: entry.id, similarity: Math.round(entry.similarity * 1000) / 1000 })), ...(proposal.cases_used ?? [])] } : {}),
    ...(fallbacks.length ? { llm_fallbacks: fallbacks } : {}),
    ...(state.recall?.warning ? { warnings: [state.recall.warning] } : {}),
  };
  return { ...spent, critiqueRounds: rounds, diagnosis };
}

/** The LLM critic's verdict on this round's proposal, what it cost, and whether it answered itself. */
async function askCritic(state: DiagnoseStateType, offline: Verdict, round: number): Promise<{ verdict: Verdict; llm: { cost: LlmCost; answered: boolean; fallbacks: string[] } }> {
  const result = await llmCritique({
    steps: state.steps,
    stages: state.stages,
    outcome: state.runInfo?.outcome,
    task: state.runInfo?.task,
    checks: state.failingChecks,
    proposal: required(state.proposal, "proposal"),
    offline,
    constraints: state.constraints,
    options: state.options,
  });
  const fallbacks = result.fallback ? [`critique, round ${round}: ${result.fallback}`] : [];
  return { verdict: result.verdict, llm: { cost: result.cost, answered: result.strategy === "llm", fallbacks } };
}
