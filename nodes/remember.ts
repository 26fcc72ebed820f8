import { caseFromAnalysis, storeCase } from "../memory/failureCases.js";
import { RunStore } from "../memory/store.js";
import { VectorMemory } from "../memory/vectorStore.js";
import { required, type DiagnoseStateType, type DiagnoseUpdate } from "../graphs/state.js";

/**
 * Record the run and its diagnosis in the SQLite store under --home; a failed run also becomes an
 * unconfirmed failure case in the vector memory (a person's `feedback` can confirm it later).
 */
export async function remember(state: DiagnoseStateType): Promise<DiagnoseUpdate> {
  if (!state.options.remember) return {};
  const runInfo = required(state.runInfo, "runInfo");
  const diagnosis = required(state.diagnosis, "diagnosis");
  const store = new RunStore(state.options.home);
  try {
    store.recordAnalysis(runInfo.path, runInfo, state.steps.length, diagnosis);
  } finally {
    store.close();
  }
  if (diagnosis.failed === true) {
    const memory = await VectorMemory.open(state.options.home);
    try {
      await storeCase(memory, caseFromAnalysis({ run: runInfo, steps: state.steps }, diagnosis, { confirmed: false }));
    } finally {
      memory.close();
    }
  }
  return {};
}
