import type { Diagnosis } from "../schema/diagnosis.js";
import type { ReplayPlan } from "../schema/replay.js";
import type { Step } from "../schema/step.js";

/**
 * Resume just before the onset: the state the agent had built up to then is kept, and it gets the
 * evidence against the onset as guidance, with as many steps as it originally spent from there on.
 */
export function planReplay(runPath: string, steps: Step[], diagnosis: Diagnosis): ReplayPlan {
  const onsetId = diagnosis.onset?.step_id ?? null;
  if (onsetId === null || diagnosis.failed === false) {
    return {
      run: runPath,
      resumable: false,
      onset_step_id: null,
      resume_after_step_id: null,
      restore: { change_step_ids: [], description: "Nothing to replay: no failure onset was found." },
      guidance: diagnosis.failed === false ? "The run passed; there is nothing to correct." : "No onset could be localized; re-run from the start.",
      budget: { steps: 0 },
    };
  }
  const resumeAfter = Math.max(0, onsetId - 1);
  const restore = steps.filter((step) => step.id <= resumeAfter && step.kind === "change").map((step) => step.id);
  return {
    run: runPath,
    resumable: true,
    onset_step_id: onsetId,
    resume_after_step_id: resumeAfter,
    restore: {
      change_step_ids: restore,
      description: restore.length === 0
        ? "No state-changing step precedes the onset: start from the task's initial environment."
        : `Re-apply the ${restore.length} state-changing step(s) up to step ${resumeAfter} (${restore.join(", ")}), or restore a snapshot taken there.`,
    },
    guidance: guidanceText(diagnosis, onsetId),
    budget: { steps: steps.filter((step) => step.id >= onsetId).length },
  };
}

function guidanceText(diagnosis: Diagnosis, onsetId: number): string {
  const against = diagnosis.evidence.filter((item) => item.step_id === onsetId).map((item) => `- ${item.why}`);
  const later = diagnosis.evidence.filter((item) => diagnosis.error_chain.includes(item.step_id) && item.step_id !== onsetId).slice(0, 5).map((item) => `- step ${item.step_id}: ${item.why}`);
  return [
    `Your previous attempt went wrong at step ${onsetId}${diagnosis.onset?.summary ? ` (${diagnosis.onset.summary})` : ""}.`,
    ...(against.length ? ["What was wrong there:", ...against] : []),
    ...(later.length ? ["What followed from it:", ...later] : []),
    "Before continuing, check that each command is well-formed and does what you intend, and verify the result against what the task's checks test before declaring completion.",
  ].join("\n");
}
