import type { Step } from "../schema/step.js";
import { contentText, isRecord, WarningLog } from "./io.js";
import { exitCodeFromText, shellCommandOf } from "./tools.js";

/**
 * ATIF (Agent Trajectory Interchange Format, v1.x): `steps[]` with `source`, `message`,
 * `reasoning_content`, `tool_calls[]`, `observation.results[]`. Each ATIF step becomes exactly one Step.
 */
export function atifSteps(document: unknown, sourcePath: string, warnings: WarningLog): Step[] {
  if (!isRecord(document) || !Array.isArray(document.steps)) {
    warnings.add({ path: sourcePath, pointer: "" }, "no steps[] array: not an ATIF trajectory");
    return [];
  }
  const steps: Step[] = [];
  document.steps.forEach((raw, index) => {
    const pointer = `/steps/${index}`;
    if (!isRecord(raw)) {
      warnings.add({ path: sourcePath, pointer }, "step is not an object");
      return;
    }
    steps.push(atifStep(raw, steps.length + 1, { path: sourcePath, pointer }, warnings));
  });
  return steps;
}

function atifStep(raw: Record<string, unknown>, id: number, source: { path: string; pointer: string }, warnings: WarningLog): Step {
  const calls = Array.isArray(raw.tool_calls) ? raw.tool_calls.filter(isRecord) : [];
  if (calls.length > 1) warnings.add(source, `${calls.length} tool calls in one ATIF step; only the first is kept as the step's tool`);
  const call = calls[0];
  const extra = isRecord(raw.extra) ? raw.extra : {};
  const message = contentText(raw.message);
  const thought = contentText(raw.reasoning_content);
  const observationText = observationOf(raw.observation);
  const step: Step = {
    id,
    kind: call ? "other" : "message",
    actor: typeof raw.source === "string" ? raw.source : "agent",
    sources: [source],
  };
  if (message && !(call && /^Executed \S+ \S+$/.test(message))) step.text = message;
  if (thought) step.thought = thought;
  if (call) {
    const name = String(call.function_name ?? call.name ?? "tool");
    const args = call.arguments ?? call.args;
    step.tool = { name, args };
    if (typeof call.tool_call_id === "string") step.tool.id = call.tool_call_id;
    const command = shellCommandOf(name, args);
    if (command !== undefined) step.tool.command = command;
  }
  if (observationText !== undefined) {
    step.observation = { text: observationText };
    if (typeof extra.tool_result_is_error === "boolean") step.observation.is_error = extra.tool_result_is_error;
    const exitCode = exitCodeFromText(observationText);
    if (exitCode !== undefined) step.observation.exit_code = exitCode;
  }
  if (typeof raw.timestamp === "string") step.timestamp = raw.timestamp;
  const tokens = tokensOf(raw.metrics);
  if (tokens) step.tokens = tokens;
  return step;
}

function observationOf(observation: unknown): string | undefined {
  if (!isRecord(observation)) return undefined;
  const results = Array.isArray(observation.results) ? observation.results : [];
  return results.map((result) => (isRecord(result) ? contentText(result.content) : contentText(result))).join("\n");
}

function tokensOf(metrics: unknown): Step["tokens"] | undefined {
  if (!isRecord(metrics)) return undefined;
  const number = (value: unknown) => (typeof value === "number" ? value : undefined);
  const tokens = {
    prompt: number(metrics.prompt_tokens),
    completion: number(metrics.completion_tokens),
    cached: number(metrics.cached_tokens),
  };
  if (!tokens.prompt && !tokens.completion && !tokens.cached) return undefined;
  return tokens;
}

/** The task: the first user message of the trajectory. */
export function atifTask(steps: Step[]): string | undefined {
  return steps.find((step) => step.actor === "user" && step.text)?.text;
}
