import type { Step } from "../schema/step.js";
import type { Constraints, Proposal } from "./localize.js";

export interface Verdict {
  accepted: boolean;
  objection?: string;
  /** What the localizer must respect next round when the proposal is sent back. */
  constraints?: Constraints;
}

const AGENT_ACTORS = new Set(["agent", "assistant"]);
const SYMPTOMS = new Set(["error_observation", "malformed_call"]);

/** The critic checks a proposal against the evidence; it never invents an onset of its own. */
export function critiqueProposal(proposal: Proposal, steps: Step[], previous: Constraints = {}): Verdict {
  const onset = proposal.onset;
  if (!onset) return { accepted: true };
  const exclude = [...(previous.exclude ?? [])];
  const step = steps.find((candidate) => candidate.id === onset.step_id);
  if (!step || !AGENT_ACTORS.has(step.actor)) {
    return { accepted: false, objection: `step ${onset.step_id} is not an agent step`, constraints: { ...previous, exclude: [...exclude, onset.step_id] } };
  }
  const firstSymptom = proposal.evidence.find((item) => SYMPTOMS.has(item.signal ?? ""))?.step_id;
  if (firstSymptom !== undefined && onset.step_id > firstSymptom) {
    return {
      accepted: false,
      objection: `onset step ${onset.step_id} comes after the first symptom at step ${firstSymptom}`,
      constraints: { ...previous, notAfter: firstSymptom },
    };
  }
  if (!proposal.evidence.some((item) => item.step_id === onset.step_id)) {
    return { accepted: false, objection: `no evidence names step ${onset.step_id}`, constraints: { ...previous, exclude: [...exclude, onset.step_id] } };
  }
  return { accepted: true };
}
