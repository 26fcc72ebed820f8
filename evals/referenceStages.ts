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
  /**
   * The annotation fits the extracted steps: it ends within the tolerance of the run's count in
   * its unit. When it does not (it numbers steps of a log the run's files do not contain, e.g. the
   * harness's keystrokes were kept instead of the agent's log), no segmentation of these steps can
   * be judged against it.
   */
  fits: boolean;
  /** Per step, whether it holds an annotated unit (only for units other than steps; a step without commands holds none). */
  holdsUnit?: boolean[];
}

/** How far the annotated numbering may be from a unit's count and still count as that unit. */
const UNIT_TOLERANCE = 0.15;

/**
 * CodeTraceBench numbers the steps of the ORIGINAL log, which is not always one extracted step each:
 * Terminus 2 annotations count commands (an extracted step is an episode with zero, one or several),
 * and OpenHands annotations count the log's action events (of which `steps.json` keeps a subset; event
 * files are numbered two per action). The unit is the one whose count over the run comes closest to
 * where the annotation ends (steps on a tie, and only within a tolerance); the gold boundaries are then
 * projected onto the extracted step that holds them.
 */
export function projectReferenceStages(reference: ReferenceStage[], steps: Step[]): ProjectedStages {
  const raw = boundariesOf(reference.map((stage) => ({ start: stage.start_step_id, end: stage.end_step_id })));
  const last = Math.max(...reference.map((stage) => stage.end_step_id));
  if (steps.length === 0) return { unit: "steps", boundaries: raw, raw, fits: false };
  const lastStep = steps[steps.length - 1]!.id;
  const unit = closestUnit(last, unitEnds(steps), lastStep);
  if (!unit) return { unit: "steps", boundaries: raw, raw, fits: Math.abs(lastStep - last) <= UNIT_TOLERANCE * last };
  const holdsUnit = unit.ends.map((end, index) => end > (index > 0 ? unit.ends[index - 1]! : 0));
  return { unit: unit.unit, boundaries: project(raw, unit.ends, steps), raw, fits: true, holdsUnit };
}

/**
 * Predicted boundaries seen in the annotation's units: a stage opened at a step that holds no unit
 * (a Terminus 2 episode that ran no command) starts, for the annotation, at the next step that
 * holds one; after the last such step it starts nowhere. Gold and prediction are then compared
 * on the same footing.
 */
export function alignToUnits(boundaries: number[], stepIds: number[], holdsUnit?: boolean[]): number[] {
  if (!holdsUnit) return boundaries;
  const first = holdsUnit.indexOf(true);
  const aligned = new Set<number>();
  for (const boundary of boundaries) {
    let index = stepIds.indexOf(boundary);
    while (index >= 0 && index < stepIds.length && !holdsUnit[index]) index += 1;
    if (index >= 0 && index < stepIds.length && index !== first) aligned.add(stepIds[index]!);
  }
  return [...aligned].sort((a, b) => a - b);
}

/** Per step, the cumulative count of each other unit the annotation may use (where the run has it). */
function unitEnds(steps: Step[]): { unit: Exclude<ReferenceUnit, "steps">; ends: number[] }[] {
  const units: { unit: Exclude<ReferenceUnit, "steps">; ends: number[] }[] = [];
  const commandEnds = cumulative(steps.map(commandCount));
  if (commandEnds) units.push({ unit: "commands", ends: commandEnds });
  const events = steps.map(eventNumber);
  if (events.every((event): event is number => event !== undefined)) units.push({ unit: "events", ends: events.map((event) => Math.floor(event / 2)) });
  return units;
}

/** The unit that explains where the annotation ends strictly better than the step count does, if any. */
function closestUnit(last: number, units: ReturnType<typeof unitEnds>, lastStep: number) {
  let best: ReturnType<typeof unitEnds>[number] | undefined;
  let bestDistance = Math.abs(lastStep - last);
  for (const candidate of units) {
    const distance = Math.abs(candidate.ends[candidate.ends.length - 1]! - last);
    if (distance < bestDistance && distance <= UNIT_TOLERANCE * last) {
      best = candidate;
      bestDistance = distance;
    }
  }
  return best;
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
