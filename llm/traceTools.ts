import { tool, type StructuredToolInterface } from "@langchain/core/tools";
import { z } from "zod";
import type { FailingCheck } from "../analysis/checks.js";
import type { Step } from "../schema/step.js";
import type { Outcome, Stage } from "../schema/trace.js";
import { stageOf } from "../analysis/stages.js";
import { oneLine, truncate, untrusted } from "./untrusted.js";

/** What the agents may look at: one run's trace, in memory. The tools read it and nothing else. */
export interface TraceView {
  steps: Step[];
  stages: Stage[];
  outcome?: Outcome | undefined;
  task?: string | undefined;
  /** The failing checks with their full reports (graph state `failingChecks`), when already read. */
  checks?: FailingCheck[] | undefined;
}

/**
 * The complete tool set the agents get besides their own submit tool. Every one only reads the
 * TraceView it was built over: none writes a file, runs a command or reaches the network, so text
 * in a trajectory has nothing to act through, whatever it says.
 */
export const READ_ONLY_TOOL_NAMES = ["view_step", "view_stage", "search_steps", "list_steps", "failing_checks"] as const;
export type ReadOnlyToolName = (typeof READ_ONLY_TOOL_NAMES)[number];

/** Characters per tool output: enough for a long observation's head and tail, small enough for many rounds. */
export const DEFAULT_OUTPUT_BUDGET = 6_000;
const LIST_LIMIT = 80;
const SEARCH_LIMIT = 15;
const COMMAND_HEAD = 100;
const CHECKS_BUDGET = 5_000;
const PASSING = /^(passed|pass|ok|success|succeeded|skipped|xfail)$/i;

const StepId = z.coerce.number().int().describe("a step id, as shown by list_steps (steps are numbered from 1)");

/** Build the read-only tools over one trace. */
export function createTraceTools(trace: TraceView, budget = DEFAULT_OUTPUT_BUDGET): StructuredToolInterface[] {
  const bounded = (text: string) => truncate(text, budget);
  return [
    tool(async ({ id }) => bounded(viewStep(trace, id, budget)), {
      name: "view_step",
      description: "Show one step in full: its thought, message, tool call and observation (long texts keep head and tail).",
      schema: z.object({ id: StepId }),
    }),
    tool(async ({ id }) => bounded(viewStage(trace, id)), {
      name: "view_stage",
      description: "Show one stage (a contiguous range of steps with one purpose) and a one-line listing of its steps.",
      schema: z.object({ id: z.coerce.number().int().describe("a stage id (stages are numbered from 1)") }),
    }),
    tool(async ({ query }) => bounded(searchSteps(trace, query)), {
      name: "search_steps",
      description: "Find steps whose text, command or observation contains the query's words (case-insensitive, plain words, no regex). Returns step ids with snippets, best matches first.",
      schema: z.object({ query: z.string().min(1).max(200).describe("words to look for, e.g. 'out.html error'") }),
    }),
    tool(async ({ from, to }) => bounded(listSteps(trace, from, to)), {
      name: "list_steps",
      description: `One line per step from \`from\` to \`to\` (at most ${LIST_LIMIT}): id, actor, kind, tool, command head, error flag.`,
      schema: z.object({ from: StepId, to: StepId }),
    }),
    tool(async () => bounded(failingChecks(trace)), {
      name: "failing_checks",
      description: "The run's outcome and the checks (tests, rewards) that failed, with their details.",
      schema: z.object({}),
    }),
  ];
}

function viewStep(trace: TraceView, id: number, budget: number): string {
  const step = trace.steps.find((candidate) => candidate.id === id);
  if (!step) return noSuchStep(trace, id);
  const stage = stageOf(trace.stages, id);
  const observation = step.observation;
  const header = [
    `Step ${step.id} of ${trace.steps.length}: actor ${step.actor}, kind ${step.kind}${stage ? `, stage ${stage.id} (${stage.label})` : ""}`,
    observation ? `observation: exit code ${observation.exit_code ?? "none"}, error ${observation.is_error ? "yes" : "no"}` : "no observation",
  ].join("\n");
  // Each field gets a share of the budget, so a huge observation cannot hide the command that caused it.
  const share = Math.max(200, Math.floor((budget - header.length) / 4));
  const fields = [
    step.thought ? `THOUGHT:\n${truncate(step.thought, share)}` : "",
    step.text ? `MESSAGE:\n${truncate(step.text, share)}` : "",
    step.tool ? `TOOL ${step.tool.name}${step.tool.id ? ` (call id ${step.tool.id})` : ""}:\n${truncate(step.tool.command ?? JSON.stringify(step.tool.args ?? {}, null, 1), share)}` : "",
    observation ? `OBSERVATION:\n${truncate(observation.text, share)}` : "",
  ].filter(Boolean);
  return `${header}\n${untrusted(fields.join("\n\n") || "(empty step)")}`;
}

function viewStage(trace: TraceView, id: number): string {
  const stage = trace.stages.find((candidate) => candidate.id === id);
  if (!stage) return `There is no stage ${id}; stages are ${trace.stages.map((candidate) => candidate.id).join(", ") || "none"}.`;
  return `Stage ${stage.id} (${stage.label}): steps ${stage.start_step_id}–${stage.end_step_id}\n${listSteps(trace, stage.start_step_id, stage.end_step_id)}`;
}

function listSteps(trace: TraceView, from: number, to: number): string {
  const [low, high] = from <= to ? [from, to] : [to, from];
  const selected = trace.steps.filter((step) => step.id >= low && step.id <= high);
  if (selected.length === 0) return `No steps between ${low} and ${high}; steps are 1..${trace.steps.length}.`;
  const shown = selected.slice(0, LIST_LIMIT);
  const more = selected.length > shown.length ? `\n(${selected.length - shown.length} more; list from ${shown.at(-1)!.id + 1})` : "";
  return `Steps ${shown[0]!.id}–${shown.at(-1)!.id} (id | actor | kind | error | tool: command head):\n${untrusted(shown.map(stepLine).join("\n"))}${more}`;
}

function stepLine(step: Step): string {
  const failed = step.observation && (step.observation.is_error || (step.observation.exit_code ?? 0) !== 0);
  const action = step.tool
    ? `${step.tool.name}: ${oneLine(step.tool.command ?? JSON.stringify(step.tool.args ?? {}), COMMAND_HEAD)}`
    : `(message) ${oneLine(step.text ?? step.thought ?? "", COMMAND_HEAD)}`;
  return `${step.id} | ${step.actor} | ${step.kind} | ${failed ? "ERROR" : "-"} | ${action}`;
}

function searchSteps(trace: TraceView, query: string): string {
  const words = queryWords(query);
  if (words.length === 0) return "The query has no words to search for.";
  const hits = trace.steps
    .map((step) => ({ step, haystack: searchableText(step), score: 0 }))
    .map((hit) => ({ ...hit, score: words.filter((word) => hit.haystack.includes(word)).length }))
    .filter((hit) => hit.score > 0)
    .sort((a, b) => b.score - a.score || a.step.id - b.step.id);
  if (hits.length === 0) return `No step contains any of: ${words.join(", ")}.`;
  const lines = hits.slice(0, SEARCH_LIMIT).map(({ step, haystack, score }) => `${step.id} (${score}/${words.length} words): ${snippet(haystack, words)}`);
  const more = hits.length > SEARCH_LIMIT ? `\n(${hits.length - SEARCH_LIMIT} more matching steps not shown; refine the query)` : "";
  return `Steps matching ${words.join(", ")} (id (matched words): snippet):\n${untrusted(lines.join("\n"))}${more}`;
}

/** Plain lower-case words of at least two characters; punctuation inside paths (`out.html`) is kept. */
function queryWords(query: string): string[] {
  const words = query.toLowerCase().split(/[^\p{L}\p{N}_./-]+/u).filter((word) => word.length >= 2);
  return [...new Set(words)].slice(0, 8);
}

function searchableText(step: Step): string {
  const parts = [step.thought, step.text, step.tool?.name, step.tool?.command ?? (step.tool?.args !== undefined ? JSON.stringify(step.tool.args) : undefined), step.observation?.text];
  return parts.filter(Boolean).join("\n").toLowerCase();
}

function snippet(haystack: string, words: string[]): string {
  const at = Math.min(...words.map((word) => haystack.indexOf(word)).filter((index) => index >= 0));
  return oneLine(haystack.slice(Math.max(0, at - 60), at + 100), 160);
}

function failingChecks(trace: TraceView): string {
  const outcome = trace.outcome;
  if (!outcome) return "The run recorded no outcome (no tests or reward were found).";
  const failing = trace.checks?.length ? trace.checks : outcome.evidence.filter((check) => !PASSING.test(check.status.trim())).map(({ name, status, detail }) => ({ name, status, text: `${name}\n${detail ?? ""}` }));
  const header = `Outcome: ${outcome.status}; ${outcome.evidence.length} checks, ${failing.length} not passed.`;
  if (failing.length === 0) return header;
  // Each check gets a share, and its report keeps head and tail: the decisive line is often the last.
  const share = Math.max(400, Math.floor(CHECKS_BUDGET / failing.length));
  const body = failing.map((check) => `CHECK ${check.status}: ${truncate(check.text, share)}`).join("\n\n");
  return `${header}\n${untrusted(body)}`;
}

function noSuchStep(trace: TraceView, id: number): string {
  return `There is no step ${id}; steps are numbered 1..${trace.steps.length}.`;
}

