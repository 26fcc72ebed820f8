import { buildLabels } from "../outputs/labels.js";
import { Diagnosis, type Labels } from "../schema/diagnosis.js";
import { ReplayPlan } from "../schema/replay.js";
import { Trace } from "../schema/trace.js";
import { graph } from "./diagnose.js";
import { required, type AnalyzeOptions } from "./state.js";

/** Everything one analysis produces, each part already checked by its schema. */
export interface Analysis {
  trace: Trace;
  diagnosis: Diagnosis;
  labels: Labels;
  replay: ReplayPlan;
}

/** Run the diagnose graph on one run and assemble the validated outputs. */
export async function analyzeRun(input: string, options: AnalyzeOptions): Promise<Analysis> {
  const state = await graph.invoke({ input, options }, { recursionLimit: 50 });
  const trace = Trace.parse({
    run: required(state.runInfo, "runInfo"),
    steps: state.steps,
    stages: state.stages,
    tree: required(state.tree, "tree"),
  });
  const diagnosis = Diagnosis.parse(required(state.diagnosis, "diagnosis"));
  return { trace, diagnosis, labels: buildLabels(trace, diagnosis), replay: ReplayPlan.parse(required(state.replay, "replay")) };
}
