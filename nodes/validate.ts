import { Step } from "../schema/step.js";
import type { DiagnoseStateType, DiagnoseUpdate, Validation } from "../graphs/state.js";

/** Below this share of meaningful steps an extraction is "poor" and goes back to evolution. */
const MIN_COVERAGE = 0.5;

/** Check the extraction: schema-valid steps, numbered in increasing order, with agent actions (tool calls, or messages of a tool-less chat) in them. */
export async function validate(state: DiagnoseStateType): Promise<DiagnoseUpdate> {
  return { validation: validateSteps(state.steps) };
}

export function validateSteps(steps: Step[]): Validation {
  const problems: string[] = [];
  if (steps.length === 0) problems.push("no steps were extracted");
  steps.forEach((step, index) => {
    const parsed = Step.safeParse(step);
    if (!parsed.success) problems.push(`step ${index + 1}: ${parsed.error.issues[0]?.path.join(".")} ${parsed.error.issues[0]?.message}`);
    if (index > 0 && step.id <= steps[index - 1]!.id) problems.push(`step ids must increase: ${steps[index - 1]!.id} then ${step.id}`);
  });
  // In a chat between agents (no tools at all) the messages are the actions; only a log with neither is poor.
  const acts = (step: Step) => step.tool !== undefined || (step.actor !== "user" && !!(step.text || step.thought));
  if (steps.length > 0 && !steps.some(acts)) problems.push("no step carries an agent action or message");
  const meaningful = steps.filter((step) => step.tool || step.text || step.thought).length;
  const coverage = steps.length === 0 ? 0 : meaningful / steps.length;
  if (steps.length > 0 && coverage < MIN_COVERAGE) problems.push(`only ${Math.round(coverage * 100)}% of steps carry an action or text`);
  return { ok: problems.length === 0, problems: problems.slice(0, 10), coverage };
}
