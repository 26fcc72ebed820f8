import type { Step } from "../schema/step.js";
import type { Ref } from "./manifest.js";

/**
 * Resolve a label reference to the id of the step built from it: through `sources` (a pointer names
 * the record or anything inside it) or through `tool.id`. Undefined when no step carries it.
 */
export function resolveRef(ref: Ref, steps: Step[]): number | undefined {
  if (typeof ref === "number") return steps.some((step) => step.id === ref) ? ref : undefined;
  if ("tool_id" in ref) return steps.find((step) => step.tool?.id === ref.tool_id)?.id;
  const matches = (step: Step) =>
    step.sources.some((source) => {
      if (source.path !== ref.path) return false;
      if ("line" in ref) return source.line === ref.line;
      return source.pointer !== undefined && (ref.pointer === source.pointer || ref.pointer.startsWith(`${source.pointer}/`));
    });
  return steps.find(matches)?.id;
}

/** Resolve a list of references, dropping those that name no step (and counting them). */
export function resolveRefs(refs: Ref[] | undefined, steps: Step[]): { ids: number[]; unresolved: number } {
  const ids: number[] = [];
  let unresolved = 0;
  for (const ref of refs ?? []) {
    const id = resolveRef(ref, steps);
    if (id === undefined) unresolved += 1;
    else if (!ids.includes(id)) ids.push(id);
  }
  return { ids: ids.sort((a, b) => a - b), unresolved };
}
