import { localizeOffline } from "../analysis/localize.js";
import type { DiagnoseStateType, DiagnoseUpdate } from "../graphs/state.js";

/** Propose the onset, incorrect and unuseful steps and the error chain, respecting the critic's constraints. */
export async function localize(state: DiagnoseStateType): Promise<DiagnoseUpdate> {
  const proposal = localizeOffline({ steps: state.steps, stages: state.stages, outcome: state.runInfo?.outcome }, state.constraints);
  return { proposal };
}
