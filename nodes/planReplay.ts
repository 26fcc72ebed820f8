import { planReplay as plan } from "../analysis/replay.js";
import { required, type DiagnoseStateType, type DiagnoseUpdate } from "../graphs/state.js";

/** Say where to resume the agent, what state to restore, what guidance to give and with what budget. */
export async function planReplay(state: DiagnoseStateType): Promise<DiagnoseUpdate> {
  const run = required(state.runInfo, "runInfo");
  return { replay: plan(run.path, state.steps, required(state.diagnosis, "diagnosis"), run.outcome, state.failingChecks) };
}
