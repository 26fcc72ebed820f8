import { readFailingChecks } from "../analysis/checks.js";
import { localizeOffline } from "../analysis/localize.js";
import type { DiagnoseStateType, DiagnoseUpdate } from "../graphs/state.js";

/** Propose the onset, incorrect and unuseful steps and the error chain, respecting the critic's constraints. */
export async function localize(state: DiagnoseStateType): Promise<DiagnoseUpdate> {
  const failingChecks = state.failingChecks ?? (await readFailingChecks(state.run, state.runInfo?.outcome));
  const proposal = localizeOffline(
    { steps: state.steps, stages: state.stages, outcome: state.runInfo?.outcome, task: state.runInfo?.task, checks: failingChecks },
    state.constraints,
  );
  return { proposal, failingChecks };
}
