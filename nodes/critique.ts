import { critiqueProposal } from "../analysis/critique.js";
import { MAX_CRITIQUE_ROUNDS, required, type DiagnoseStateType, type DiagnoseUpdate } from "../graphs/state.js";

/**
 * Check the localizer's proposal. Rejected proposals go back with the objection as constraints; once
 * one is accepted, or the budget is spent, it becomes the diagnosis (with every round on record).
 */
export async function critique(state: DiagnoseStateType): Promise<DiagnoseUpdate> {
  const proposal = required(state.proposal, "proposal");
  const verdict = critiqueProposal(
    proposal,
    { steps: state.steps, outcome: state.runInfo?.outcome, task: state.runInfo?.task, checks: state.failingChecks },
    state.constraints,
  );
  const rounds = [
    ...state.critiqueRounds,
    { round: state.critiqueRounds.length + 1, proposed_onset: proposal.onset?.step_id ?? null, accepted: verdict.accepted, ...(verdict.objection ? { objection: verdict.objection } : {}) },
  ];
  if (!verdict.accepted && rounds.length < MAX_CRITIQUE_ROUNDS) {
    return { critiqueRounds: rounds, constraints: verdict.constraints ?? state.constraints };
  }
  return {
    critiqueRounds: rounds,
    diagnosis: {
      ...proposal,
      strategy: "offline",
      cost: { llm_calls: 0, prompt_tokens: 0, completion_tokens: 0, seconds: (Date.now() - state.startedAt) / 1000 },
      critique: rounds,
    },
  };
}
