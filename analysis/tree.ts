import type { Step } from "../schema/step.js";
import type { Stage, TraceTree } from "../schema/trace.js";
import { isErrorStep } from "./progress.js";

/**
 * run → stages → steps → tool calls. Every state-changing step opens a new environment state (as in
 * the paper): a change step that did not fail. Explore and verify steps run in the state they find.
 */
export function buildTraceTree(steps: Step[], stages: Stage[]): TraceTree {
  let state = 0;
  const stateOf = new Map<number, number>();
  const changing = new Set<number>();
  for (const step of steps) {
    stateOf.set(step.id, state);
    if (step.kind === "change" && !isErrorStep(step)) {
      changing.add(step.id);
      state += 1;
    }
  }
  return {
    type: "run",
    children: stages.map((stage) => ({
      type: "stage" as const,
      stage_id: stage.id,
      label: stage.label,
      children: steps
        .filter((step) => step.id >= stage.start_step_id && step.id <= stage.end_step_id)
        .map((step) => ({
          type: "step" as const,
          step_id: step.id,
          kind: step.kind,
          state: stateOf.get(step.id) ?? 0,
          state_changing: changing.has(step.id),
          children: step.tool ? [{ type: "tool_call" as const, name: step.tool.name, ...(step.tool.id ? { id: step.tool.id } : {}) }] : [],
        })),
    })),
  };
}
