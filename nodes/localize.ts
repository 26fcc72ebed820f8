import { readFailingChecks } from "../analysis/checks.js";
import { localizeOffline, type LocalizeInput } from "../analysis/localize.js";
import { describeCase, PRIOR_WEIGHTS, relevantCases } from "../analysis/priors.js";
import { DEFAULT_MODEL } from "../analysis/scoring.js";
import { required, type DiagnoseStateType, type DiagnoseUpdate, type Recall } from "../graphs/state.js";
import { llmEnabled, llmLocalize } from "../llm/index.js";
import { recallConfirmedCases } from "../memory/recall.js";

/**
 * Propose the onset, incorrect and unuseful steps and the error chain, respecting the critic's
 * constraints. Confirmed past failures similar to this run (recalled once) are priors offline; with
 * an LLM, the offline proposal is the agent's starting hypothesis and the same cases its examples.
 */
export async function localize(state: DiagnoseStateType): Promise<DiagnoseUpdate> {
  const failingChecks = state.failingChecks ?? (await readFailingChecks(state.run, state.runInfo?.outcome));
  const recall = state.recall ?? (await recallForRun(state));
  const input: LocalizeInput = { steps: state.steps, stages: state.stages, outcome: state.runInfo?.outcome, task: state.runInfo?.task, checks: failingChecks };
  const offline = localizeOffline(input, state.constraints, DEFAULT_MODEL, recall.cases, recall.calibration);
  if (!llmEnabled(state.options)) return { proposal: offline, proposalBy: "offline", failingChecks, recall };

  const round = state.critiqueRounds.length + 1;
  const previous = state.critiqueRounds.at(-1);
  const result = await llmLocalize({
    ...input,
    offline,
    constraints: state.constraints,
    objection: previous && !previous.accepted ? previous.objection : undefined,
    examples: recall.cases.map(describeCase),
    options: state.options,
  });
  return {
    proposal: result.proposal,
    proposalBy: result.strategy,
    failingChecks,
    recall,
    llmCost: result.cost,
    llmFallbacks: result.fallback ? [`localize, round ${round}: ${result.fallback}`] : [],
  };
}

/** The nearest confirmed cases in the memory under --home that bear on this run (none when it is empty or missing). */
async function recallForRun(state: DiagnoseStateType): Promise<Recall> {
  if (state.options.recall === false) return { cases: [] };
  const run = required(state.runInfo, "runInfo");
  const recalled = await recallConfirmedCases(state.options.home, { run, steps: state.steps }, PRIOR_WEIGHTS.neighbours);
  if (recalled.warning) process.stderr.write(`codetracer: warning: ${recalled.warning}\n`);
  // Only cases similar enough to say something are used (and listed in the diagnosis).
  return { ...recalled, cases: relevantCases(recalled.cases) };
}
