import { readFile } from "node:fs/promises";
import { RunError } from "../schema/errors.js";
import type { Observation, Step } from "../schema/step.js";
import type { Outcome } from "../schema/trace.js";
import { absolute, isRecord, readOptionalJson, WarningLog } from "./io.js";
import { assembleStep, trimTrailingBlankLines, type ActionParts } from "./stepParts.js";
import { trialOutcome } from "./terminalBench.js";
import type { Extractor, RunFiles } from "./types.js";

/**
 * Terminus 2 (terminal-bench's reference agent): `agent-logs/episode-N/{prompt.txt,response.txt}`.
 * One Step per episode. `response.txt` is JSON `{analysis, plan, commands: [{keystrokes, duration}],
 * task_complete}`: the keystrokes of `commands[]`, in order, are the command; the NEXT episode's
 * `prompt.txt` (after "New Terminal Output:") is what the terminal showed back.
 */

export interface Terminus2Command {
  keystrokes: string;
  duration?: number;
}

export interface Terminus2Response {
  analysis?: string;
  plan?: string;
  commands: Terminus2Command[];
  task_complete?: boolean;
  /** Text the model wrote around the JSON object (Terminus 2 tolerates it, with a warning). */
  prose?: string;
}

/**
 * Decode a `response.txt` as Terminus 2's own parser does: the JSON object may be surrounded by
 * prose. Undefined when no JSON object with the Terminus 2 fields can be found (the episode then
 * stays a message: Terminus 2 executed nothing and asked the model to fix its answer).
 */
export function decodeTerminus2Response(text: string): Terminus2Response | undefined {
  const start = text.indexOf("{");
  const end = text.lastIndexOf("}");
  if (start < 0 || end <= start) return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(text.slice(start, end + 1));
  } catch {
    return undefined;
  }
  if (!isRecord(parsed) || !("commands" in parsed || "analysis" in parsed || "task_complete" in parsed)) return undefined;
  const commands = (Array.isArray(parsed.commands) ? parsed.commands : []).filter(isRecord).flatMap((command) =>
    typeof command.keystrokes === "string" ? [{ keystrokes: command.keystrokes, ...(typeof command.duration === "number" ? { duration: command.duration } : {}) }] : [],
  );
  const prose = (text.slice(0, start) + text.slice(end + 1)).trim();
  return {
    ...(typeof parsed.analysis === "string" ? { analysis: parsed.analysis } : {}),
    ...(typeof parsed.plan === "string" ? { plan: parsed.plan } : {}),
    commands,
    ...(typeof parsed.task_complete === "boolean" ? { task_complete: parsed.task_complete } : { ...(parsed.task_complete === "true" ? { task_complete: true } : {}) }),
    ...(prose ? { prose } : {}),
  };
}

/** The keystrokes sent, concatenated as the terminal received them (a missing "\n" really did join two lines). */
export function terminus2Command(commands: Terminus2Command[]): string {
  return commands.map((command) => command.keystrokes).join("").replace(/\n$/, "");
}

/**
 * A decoded response as an action. The tool is the terminal with the keystrokes as its command;
 * `task_complete` stays in the args. A response with no keystrokes that completes the task is a
 * `task_complete` call; one with neither is the agent thinking aloud.
 */
export function terminus2Action(response: Terminus2Response): ActionParts {
  const thought = [response.analysis && `Analysis: ${response.analysis}`, response.plan && `Plan: ${response.plan}`].filter(Boolean).join("\n\n");
  const parts: ActionParts = { actor: "agent", ...(thought ? { thought } : {}), ...(response.prose ? { text: response.prose } : {}) };
  const complete = response.task_complete !== undefined ? { task_complete: response.task_complete } : {};
  if (response.commands.length > 0) {
    return { ...parts, tool: { name: "terminal", args: { commands: response.commands, ...complete }, command: terminus2Command(response.commands) } };
  }
  if (response.task_complete) return { ...parts, tool: { name: "task_complete", args: complete } };
  return parts;
}

/** A screen header and the blank lines after it. */
const SCREEN_HEADERS = /^(?:New Terminal Output:|Current Terminal Screen:|Current terminal state:)[ \t]*(?:\n[ \t]*(?=\n))*\n?/gm;

/**
 * An episode's prompt as the observation of the episode before it: the terminal output after its
 * header (warnings Terminus 2 put before the header are kept). A prompt reporting that the previous
 * response could not be parsed is an error observation.
 */
export function terminus2Observation(prompt: string): Observation {
  const parseError = /^Previous response had parsing errors:/.test(prompt);
  const text = trimTrailingBlankLines(prompt.replace(SCREEN_HEADERS, ""));
  return { text, ...(parseError ? { is_error: true } : {}) };
}

/** The task, from the first prompt's "Task Description:" section (Terminus 2's prompt template). */
export function terminus2Task(firstPrompt: string): string | undefined {
  const match = /Task Description:\s*\n([\s\S]*?)\n\s*\n?Current terminal state:/.exec(firstPrompt);
  return match?.[1]?.trim() || undefined;
}

/** The whole step of an episode, given its response and the next episode's prompt. */
export function terminus2Parts(responseText: string): { action: ActionParts; decoded: boolean } {
  const response = decodeTerminus2Response(responseText);
  if (!response) return { action: { actor: "agent", text: responseText }, decoded: false };
  return { action: terminus2Action(response), decoded: true };
}

// ---- the run ----

const EPISODE = /^((?:.*\/)?)episode-(\d+)\/response\.txt$/;

/** Episode numbers by folder prefix ("agent-logs/" in a terminal-bench trial, "" when given agent-logs itself). */
function episodesOf(run: RunFiles): { prefix: string; numbers: number[] } | undefined {
  const byPrefix = new Map<string, number[]>();
  for (const file of run.files) {
    const match = EPISODE.exec(file);
    if (match && (match[1] === "" || match[1] === "agent-logs/")) byPrefix.set(match[1]!, [...(byPrefix.get(match[1]!) ?? []), Number(match[2])]);
  }
  const [prefix, numbers] = [...byPrefix.entries()][0] ?? [];
  return prefix === undefined ? undefined : { prefix, numbers: numbers!.sort((a, b) => a - b) };
}

async function readText(run: RunFiles, relative: string): Promise<string | undefined> {
  return run.files.includes(relative) ? readFile(absolute(run, relative), "utf8") : undefined;
}

/**
 * The trial's verdict as terminal-bench records it (`results.json` `is_resolved`, `parser_results`, the
 * pytest summary of `panes/post-test.txt`), read the same way as for any terminal-bench trial.
 */
async function terminalBenchVerdict(run: RunFiles, results: unknown): Promise<Outcome> {
  if (!isRecord(results)) return { status: "unknown", evidence: [] };
  const fields = {
    ...(typeof results.is_resolved === "boolean" ? { is_resolved: results.is_resolved } : {}),
    ...(typeof results.failure_mode === "string" ? { failure_mode: results.failure_mode } : {}),
    ...(isRecord(results.parser_results) ? { parser_results: results.parser_results } : {}),
  };
  return trialOutcome(run, fields);
}

export const terminus2: Extractor = {
  id: "terminus2",
  version: "1",
  format: "Terminus 2 episodes (agent-logs/episode-N)",
  async detect(run) {
    return episodesOf(run) ? 1 : 0;
  },
  async extract(run) {
    const episodes = episodesOf(run);
    if (!episodes) throw new RunError("no agent-logs/episode-N/response.txt in this run");
    const warnings = new WarningLog();
    const steps: Step[] = [];
    const episodeFile = (number: number, name: string) => `${episodes.prefix}episode-${number}/${name}`;
    for (const [position, number] of episodes.numbers.entries()) {
      const responsePath = episodeFile(number, "response.txt");
      const { action, decoded } = terminus2Parts((await readText(run, responsePath)) ?? "");
      if (!decoded) warnings.add({ path: responsePath, line: 1 }, "response is not a Terminus 2 JSON object: kept as a message");
      const next = episodes.numbers[position + 1];
      const nextPromptPath = next === undefined ? undefined : episodeFile(next, "prompt.txt");
      const nextPrompt = nextPromptPath ? await readText(run, nextPromptPath) : undefined;
      const sources = [{ path: responsePath, line: 1 }, ...(nextPrompt !== undefined ? [{ path: nextPromptPath!, line: 1 }] : [])];
      steps.push(assembleStep(steps.length + 1, action, nextPrompt !== undefined ? terminus2Observation(nextPrompt) : undefined, sources));
    }
    const firstPrompt = await readText(run, episodeFile(episodes.numbers[0]!, "prompt.txt"));
    const results = await readOptionalJson(run, "results.json");
    const instruction = isRecord(results) && typeof results.instruction === "string" ? results.instruction : undefined;
    const task = (firstPrompt ? terminus2Task(firstPrompt) : undefined) ?? instruction;
    const outcome = await terminalBenchVerdict(run, results);
    return { steps, task, outcome, warnings: warnings.toJSON() };
  },
};
