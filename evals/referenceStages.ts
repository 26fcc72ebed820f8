import type { Step } from "../schema/step.js";
import type { ReferenceStage } from "../schema/trace.js";
import { boundariesOf } from "./metrics.js";

/** The unit the annotators numbered steps in, as recognized from the run. */
export type ReferenceUnit = "steps" | "commands" | "events";

export interface ProjectedStages {
  unit: ReferenceUnit;
  /** Gold boundaries in the extracted steps' ids. */
  boundaries: number[];
  /** Gold boundaries exactly as annotated (what a naive comparison uses). */
  raw: number[];
}

/** How far the annotated numbering may be from the projected one and still count as the same unit. */
const EVENT_TOLERANCE = 0.15;

/**
 * CodeTraceBench numbers the steps of the ORIGINAL log, which is not always one extracted step each:
 * Terminus 2 annotations count commands (an extracted step is an episode with several), and OpenHands
 * annotations count the log's action events (of which `steps.json` keeps a subset; event files are
 * numbered two per action). When the numbering visibly uses such a unit (the annotated steps run past
 * the extracted ones and the unit's count matches where they end), the gold boundaries are projected
 * onto the extracted step that contains them; otherwise they are used as annotated.
 */
export function projectReferenceStages(reference: ReferenceStage[], steps: Step[]): ProjectedStages {
  const raw = boundariesOf(reference.map((stage) => ({ start: stage.start_step_id, end: stage.end_step_id })));
  const last = Math.max(...reference.map((stage) => stage.end_step_id));
  const fallback: ProjectedStages = { unit: "steps", boundaries: raw, raw };
  if (steps.length === 0 || last <= steps[steps.length - 1]!.id) return fallback;
  const commandEnds = cumulative(steps.map(commandCount));
  if (commandEnds && commandEnds[commandEnds.length - 1] === last) return { unit: "commands", boundaries: project(raw, commandEnds, steps), raw };
  const events = steps.map(eventNumber);
  if (events.every((event): event is number => event !== undefined)) {
    const eventEnds = events.map((event) => Math.floor(event / 2));
    if (Math.abs(eventEnds[eventEnds.length - 1]! - last) <= EVENT_TOLERANCE * last) return { unit: "events", boundaries: project(raw, eventEnds, steps), raw };
  }
  return fallback;
}

/** The step holding unit number `g` is the first whose cumulative count reaches `g`. */
function project(raw: number[], ends: number[], steps: Step[]): number[] {
  const projected = raw.map((unit) => {
    const index = ends.findIndex((end) => end >= unit);
    return steps[index < 0 ? steps.length - 1 : index]!.id;
  });
  return [...new Set(projected)].filter((id) => id !== steps[0]!.id).sort((a, b) => a - b);
}

/** Commands of a Terminus 2 style step (`args.commands`); 0 for a step without such a list. */
function commandCount(step: Step): number {
  const args = step.tool?.args;
  if (args && typeof args === "object" && Array.isArray((args as { commands?: unknown }).commands)) return (args as { commands: unknown[] }).commands.length;
  return 0;
}

function cumulative(counts: number[]): number[] | undefined {
  if (counts.every((count) => count === 0)) return undefined;
  let total = 0;
  return counts.map((count) => (total += count));
}

/** The OpenHands event number of a step's original record (`…/events/15.json` → 15). */
function eventNumber(step: Step): number | undefined {
  for (const source of step.sources) {
    const match = /(?:^|\/)(\d+)\.json$/.exec(source.path);
    if (match) return Number(match[1]);
  }
  return undefined;
}
