import type { Step } from "../schema/step.js";
import type { StepFacts } from "./classify.js";
import { isAgent } from "./provenance.js";
import { normalizePath } from "./targets.js";

/** How each agent step went: did it move the task forward, fail visibly, or never finish? */
export interface StepOutcome {
  /** A well-formed call that worked and changed something or brought new information. */
  progress: boolean;
  /** The tool reported an error or a non-zero exit. */
  error: boolean;
  /** The call has no observation: the run ended (or was cut) while it ran. */
  unfinished: boolean;
  /** An agent turn with no text, no thought and no action. */
  empty: boolean;
}

/** The part of a run after its last progress: where it got stuck, if it did. */
export interface Derailment {
  /** The first step of the stuck tail (a garbled call if there is one, else the first action or empty turn). */
  start: number;
  /** What the tail consists of. */
  shape: "garbled" | "stalled" | "stopped" | "cut_off";
  lastProgress: number | undefined;
}

/** Tool output that only says the call ran, with nothing learned. */
const NO_INFORMATION = /^\s*(\((bash|command) completed with no output\)|no output|\[no output\]|\s*)\s*(\[metadata\].*)?$/is;

/**
 * How tools say "that failed" in words when the log records no error flag or exit code (SWE-agent,
 * mini-SWE-agent without a returncode, synthesized extractors): a refusal to apply an edit, an error
 * or traceback opening the output, a missing command or file on the first line.
 */
const TEXTUAL_FAILURE = [
  /\bchanges have NOT been applied\b/i,
  /^\s*(error|ERROR|Error)\b[:!]/,
  /^\s*Traceback \(most recent call last\):/,
  /^[^\n]{0,200}(command not found|No such file or directory)\s*$/m,
];

export function isErrorStep(step: Step): boolean {
  const observation = step.observation;
  if (!observation) return false;
  if (observation.is_error !== undefined || (observation.exit_code !== undefined && observation.exit_code !== null)) {
    return observation.is_error === true || (observation.exit_code ?? 0) !== 0;
  }
  const head = observation.text.slice(0, 2000);
  return TEXTUAL_FAILURE.some((pattern) => pattern.test(head));
}

export function stepOutcomes(steps: Step[], facts: StepFacts[]): StepOutcome[] {
  const written = new Set<string>();
  return steps.map((step, index) => {
    const fact = facts[index]!;
    const error = isErrorStep(step);
    const unfinished = !!step.tool && !step.observation;
    const empty = isAgent(step) && !step.tool && !(step.text ?? "").trim() && !(step.thought ?? "").trim();
    const progress = isAgent(step) && !!step.tool && !fact.malformed && !error && !unfinished && informative(step, fact, written);
    fact.writes.forEach((file) => written.add(normalizePath(file)));
    return { progress, error, unfinished, empty };
  });
}

/** A change or a check counts; reading back only what the agent itself wrote, or learning nothing, does not. */
function informative(step: Step, fact: StepFacts, written: Set<string>): boolean {
  if (fact.kind === "change" || fact.kind === "verify") return true;
  if (fact.kind === "message") return false;
  const text = step.observation?.text ?? "";
  if (NO_INFORMATION.test(text)) return false;
  const reads = fact.reads.map(normalizePath);
  return reads.length === 0 || reads.some((file) => !written.has(file));
}

/**
 * The stuck tail of a run: everything after its last step of progress. Undefined when the run kept
 * making progress to its end (then whatever went wrong is in what it made, not in how it stopped).
 */
export function derailment(steps: Step[], facts: StepFacts[], outcomes: StepOutcome[]): Derailment | undefined {
  let last = -1;
  steps.forEach((step, index) => {
    if (outcomes[index]!.progress) last = index;
  });
  const tail = steps.map((step, index) => ({ step, index })).filter(({ step, index }) => index > last && isAgent(step));
  const acting = tail.filter(({ step, index }) => (step.tool && facts[index]!.kind !== "message") || outcomes[index]!.empty);
  if (acting.length === 0) return undefined;
  const lastProgress = last >= 0 ? steps[last]!.id : undefined;
  const garbled = acting.find(({ index }) => facts[index]!.malformed);
  if (garbled) return { start: garbled.step.id, shape: "garbled", lastProgress };
  const first = acting[0]!;
  if (outcomes[first.index]!.empty) return { start: first.step.id, shape: "stopped", lastProgress };
  // One last call cut off by the end of the run is how runs end, not a sign of being stuck.
  if (acting.length < 2) return undefined;
  if (acting.every(({ index }) => outcomes[index]!.unfinished)) return { start: first.step.id, shape: "cut_off", lastProgress };
  return { start: first.step.id, shape: "stalled", lastProgress };
}
