import { RunStore } from "../memory/store.js";
import { required, type DiagnoseStateType, type DiagnoseUpdate } from "../graphs/state.js";

/** Record the run and its diagnosis in the SQLite store under --home. */
export async function remember(state: DiagnoseStateType): Promise<DiagnoseUpdate> {
  if (!state.options.remember) return {};
  const runInfo = required(state.runInfo, "runInfo");
  const store = new RunStore(state.options.home);
  try {
    store.recordAnalysis(runInfo.path, runInfo, state.steps.length, required(state.diagnosis, "diagnosis"));
  } finally {
    store.close();
  }
  return {};
}
