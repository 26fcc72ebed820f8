import type { Step } from "../schema/step.js";
import type { StageLabel } from "../schema/trace.js";
import type { StepFacts } from "./classify.js";
import { parseShell, programOf } from "./shell.js";
import { callText } from "./text.js";

/**
 * How strongly each cue speaks for (positive) or against (negative) a stage boundary between two
 * steps, in log-odds. The weights were set by hand from what each cue means, not fitted: how much
 * the annotations of a kind of run follow this evidence is learned per dialect afterwards (the
 * `scale` of analysis/stageModel.ts), so one set of weights serves every framework.
 */
export const CUE_WEIGHTS = {
  /** The step serves another purpose (setup, inspection, implementation, verification, finalization). */
  purposeChange: 1,
  /** It switches between exploring, changing and checking. */
  kindChange: 0.5,
  /** It repeats the previous call word for word: a retry or a poll continues what was going on. */
  repeatedCall: -1,
  /** Both steps only wait (an empty call, `sleep`): one wait is one stage, however long. */
  bothIdle: -1,
  /** Two messages in a row without any action: one piece of talk. */
  bothMessages: -1,
  /** Lexical cohesion (0..1) of what the two steps say and do: the same topic continues. */
  cohesion: -1.5,
  /** None of the programs it runs ran in the previous step (+), or all of them did (−). */
  newPrograms: 0.3,
  /** The run's log holds records between the two steps that did not become steps (unseen actions). */
  hiddenRecords: 1,
} as const;

/**
 * Evidence for a stage boundary before each step: `evidence[i]` is about the gap between step
 * i−1 and step i (evidence[0] is 0: the first step always opens a stage).
 */
export function boundaryEvidence(steps: Step[], facts: StepFacts[], purposes: StageLabel[]): number[] {
  const texts = steps.map((step) => `${step.thought ?? ""} ${step.text ?? ""} ${step.tool ? callText(step) : ""}`);
  const vectors = termVectors(texts);
  const programs = steps.map(programsOf);
  const hidden = hiddenRecordsBefore(steps);
  const evidence = new Array<number>(steps.length).fill(0);
  for (let index = 1; index < steps.length; index += 1) {
    const [was, is] = [facts[index - 1]!, facts[index]!];
    const [before, after] = [steps[index - 1]!, steps[index]!];
    let score = 0;
    if (purposes[index] !== purposes[index - 1]) score += CUE_WEIGHTS.purposeChange;
    if (actionKind(was) !== actionKind(is)) score += CUE_WEIGHTS.kindChange;
    if (before.tool && after.tool && callText(before).trim() === callText(after).trim()) score += CUE_WEIGHTS.repeatedCall;
    if (idle(before, was) && idle(after, is)) score += CUE_WEIGHTS.bothIdle;
    if (isMessage(before, was) && isMessage(after, is)) score += CUE_WEIGHTS.bothMessages;
    score += CUE_WEIGHTS.cohesion * cosine(vectors[index - 1]!, vectors[index]!);
    score += CUE_WEIGHTS.newPrograms * programChange(programs[index - 1]!, programs[index]!);
    if (hidden[index]) score += CUE_WEIGHTS.hiddenRecords;
    evidence[index] = score;
  }
  return evidence;
}

function actionKind(facts: StepFacts): string {
  return facts.kind === "message" || facts.kind === "other" ? "none" : facts.kind;
}

const IDLE_PROGRAMS = new Set(["sleep", "wait", ":", "true"]);

function idle(step: Step, facts: StepFacts): boolean {
  if (!step.tool) return false;
  if (facts.noEffect) return true;
  const programs = programsOf(step);
  return programs.length > 0 && programs.every((program) => IDLE_PROGRAMS.has(program));
}

function isMessage(step: Step, facts: StepFacts): boolean {
  return !step.tool || facts.kind === "message";
}

/** The programs a shell step runs (`cd` aside), or the tool's name for other tools. */
function programsOf(step: Step): string[] {
  if (!step.tool) return [];
  if (step.tool.command === undefined) return [step.tool.name.toLowerCase()];
  const parsed = parseShell(step.tool.command);
  return [...new Set(parsed.commands.map((command) => programOf(command).program).filter((program) => program !== "" && program !== "cd"))];
}

/** +1 when the step runs only programs the previous step did not, −1 when it runs only ones it did. */
function programChange(before: string[], after: string[]): number {
  if (after.length === 0) return 0;
  if (after.every((program) => before.includes(program))) return -1;
  return before.length > 0 && !after.some((program) => before.includes(program)) ? 1 : 0;
}

/**
 * Steps whose sources are numbered records of the original log (`events/17.json`) normally follow
 * each other at a fixed stride (an action and its observation); a larger jump means the log holds
 * actions between them that were not extracted as steps (a normalized log that kept only some).
 */
function hiddenRecordsBefore(steps: Step[]): boolean[] {
  const numbers = steps.map(recordNumber);
  const strides: number[] = [];
  for (let index = 1; index < numbers.length; index += 1) {
    const [a, b] = [numbers[index - 1], numbers[index]];
    if (a !== undefined && b !== undefined && b > a) strides.push(b - a);
  }
  if (strides.length < 2) return steps.map(() => false);
  const usual = [...strides].sort((a, b) => a - b)[Math.floor(strides.length / 2)]!;
  return numbers.map((number, index) => {
    const previous = index > 0 ? numbers[index - 1] : undefined;
    return number !== undefined && previous !== undefined && number - previous > usual;
  });
}

function recordNumber(step: Step): number | undefined {
  for (const source of step.sources) {
    const match = /(?:^|\/)(\d+)\.json$/.exec(source.path);
    if (match) return Number(match[1]);
  }
  return undefined;
}

const STOP_WORDS = new Set(
  "the and for are this that with from will can should need have has was were not but then than also into its let now our you your all any out use".split(" "),
);

/** tf-idf vectors of each text, with document frequencies taken over the run's own steps. */
function termVectors(texts: string[]): Map<string, number>[] {
  const counts = texts.map((text) => {
    const terms = new Map<string, number>();
    for (const word of text.toLowerCase().split(/[^a-z0-9_./-]+/)) {
      if (word.length > 2 && !STOP_WORDS.has(word)) terms.set(word, (terms.get(word) ?? 0) + 1);
    }
    return terms;
  });
  const documents = new Map<string, number>();
  for (const terms of counts) for (const word of terms.keys()) documents.set(word, (documents.get(word) ?? 0) + 1);
  return counts.map((terms) => {
    const vector = new Map<string, number>();
    for (const [word, count] of terms) vector.set(word, (1 + Math.log(count)) * Math.log(1 + texts.length / documents.get(word)!));
    return vector;
  });
}

function cosine(a: Map<string, number>, b: Map<string, number>): number {
  let dot = 0;
  let normA = 0;
  let normB = 0;
  for (const [word, weight] of a) {
    normA += weight * weight;
    const other = b.get(word);
    if (other !== undefined) dot += weight * other;
  }
  for (const weight of b.values()) normB += weight * weight;
  return normA > 0 && normB > 0 ? dot / Math.sqrt(normA * normB) : 0;
}
