import { Labels, type Diagnosis } from "../schema/diagnosis.js";
import type { Trace } from "../schema/trace.js";
import { SIGNAL_LABELS } from "./evidenceText.js";

/** The CodeTraceBench label profile: per predicted stage, its incorrect and unuseful steps and why. */
export function buildLabels(trace: Trace, diagnosis: Diagnosis): Labels {
  return Labels.parse(
    trace.stages.map((stage) => {
      const inStage = (id: number) => id >= stage.start_step_id && id <= stage.end_step_id;
      const incorrect = diagnosis.incorrect_step_ids.filter(inStage);
      const unuseful = diagnosis.unuseful_step_ids.filter(inStage);
      const reasons = diagnosis.evidence
        .filter((item) => (incorrect.includes(item.step_id) || unuseful.includes(item.step_id)) && item.signal !== "error_observation")
        .map((item) => `step ${item.step_id} (${incorrect.includes(item.step_id) ? "incorrect" : "unuseful"}, ${SIGNAL_LABELS[item.signal ?? ""] ?? item.signal ?? "evidence"}): ${item.why}`);
      const onsetHere = diagnosis.onset && inStage(diagnosis.onset.step_id) ? [`Failure onset at step ${diagnosis.onset.step_id} (${diagnosis.failure_category.replace(/_/g, " ")}).`] : [];
      return {
        stage_id: stage.id,
        incorrect_step_ids: incorrect,
        unuseful_step_ids: unuseful,
        reasoning: [...onsetHere, ...reasons].join(" ") || `No errors found in this ${stage.label.replace("_", " ")} stage.`,
      };
    }),
  );
}
