import type { Observation, SourceRef, Step, ToolCall } from "../schema/step.js";
import type { OutcomeEvidence } from "../schema/trace.js";
import { contentText, isRecord, WarningLog } from "./io.js";
import { assembleStep, timestampOf, tokensOfUsage, type ActionParts } from "./stepParts.js";

/**
 * OpenHands events (the same shape in event arrays, `events/<id>.json` sessions and the `history`
 * of evaluation `output.jsonl`): an action event has `action` + `args`, an observation event has
 * `observation` + `content` + `extras` and `cause` = the id of the action it answers.
 * Every action becomes a Step, whatever its kind (unknown kinds are kept as tool calls of kind
 * "other"); observations join the action they are caused by.
 */

/** How each action kind maps to a Step: the tool named when the event carries no tool-call metadata. */
const ACTION_TOOLS: Record<string, string | undefined> = {
  run: "execute_bash",
  run_ipython: "execute_ipython_cell",
  edit: "str_replace_editor",
  read: "str_replace_editor",
  write: "write",
  browse: "browse",
  browse_interactive: "browse_interactive",
  think: "think",
  finish: "finish",
  delegate: "delegate",
  // What is said, not done: a message step with the text (no tool).
  message: undefined,
  system: undefined,
};

/** Observation kinds that only report agent state; unanswered, they carry nothing worth a step. */
const STATUS_ONLY = new Set(["agent_state_changed", "null", "agent_condensation"]);

/** Argument keys that are bookkeeping, not what the action does. `thought` becomes the step's thought. */
const BOOKKEEPING_ARGS = new Set(["thought", "is_input", "cwd", "confirmation_state", "is_confirmed", "hidden", "is_static", "blocking", "keep_prompt", "action_risk", "security_risk", "kernel_init_code", "include_extra", "impl_source", "translated_ipython_code", "wait_for_response", "image_urls", "file_urls"]);

export type OpenHandsEvent =
  | { type: "action"; id?: number; kind: string; parts: ActionParts; responseId?: string; callsInResponse?: number; anonymous?: boolean }
  | { type: "observation"; id?: number; cause?: number; kind: string; source: string; result: Observation; message: string };

/** Decode one event: an object, or its JSON text (as quoted in CodeTracer normalized `steps.json`). */
export function decodeOpenHandsEvent(raw: unknown): OpenHandsEvent | undefined {
  let event = raw;
  if (typeof raw === "string") {
    try {
      event = JSON.parse(raw);
    } catch {
      return undefined;
    }
  }
  if (!isRecord(event)) return undefined;
  const id = typeof event.id === "number" ? event.id : undefined;
  if (typeof event.action === "string") return { type: "action", id, kind: event.action, ...actionOf(event) };
  if (typeof event.observation === "string") {
    const cause = typeof event.cause === "number" ? event.cause : undefined;
    return { type: "observation", id, cause, kind: event.observation, source: String(event.source ?? "environment"), result: observationOf(event), message: typeof event.message === "string" ? event.message : "" };
  }
  return undefined;
}

function actionOf(event: Record<string, unknown>): { parts: ActionParts; responseId?: string; callsInResponse?: number; anonymous?: boolean } {
  const kind = event.action as string;
  const args = isRecord(event.args) ? event.args : {};
  // Old serializations put the args at the top level of the event.
  const allArgs = Object.keys(args).length > 0 ? args : Object.fromEntries(Object.entries(event).filter(([key]) => !["action", "id", "source", "timestamp", "message", "cause"].includes(key)));
  const metadata = isRecord(event.tool_call_metadata) ? event.tool_call_metadata : undefined;
  const response = isRecord(metadata?.model_response) ? metadata.model_response : undefined;
  const thought = typeof allArgs.thought === "string" ? allArgs.thought.trim() : "";
  const parts: ActionParts = { actor: kind === "system" ? "system" : String(event.source ?? "agent"), ...(thought ? { thought } : {}) };
  const timestamp = timestampOf(event.timestamp);
  if (timestamp) parts.timestamp = timestamp;
  const tokens = tokensOfUsage(response?.usage);
  if (tokens) parts.tokens = tokens;
  const said = kind in ACTION_TOOLS && ACTION_TOOLS[kind] === undefined;
  if (said) {
    const text = contentText(allArgs.content) || (typeof event.message === "string" ? event.message : "");
    if (text) parts.text = text;
  } else {
    parts.tool = toolOf(kind, allArgs, metadata);
    const finalText = kind === "finish" ? String(allArgs.final_thought ?? allArgs.outputs_content ?? "") : "";
    if (finalText) parts.text = finalText;
  }
  const callsInResponse = typeof metadata?.total_calls_in_response === "number" ? metadata.total_calls_in_response : undefined;
  return { parts, ...(typeof response?.id === "string" ? { responseId: response.id } : {}), ...(callsInResponse ? { callsInResponse } : {}), ...(event.source === undefined ? { anonymous: true } : {}) };
}

function toolOf(kind: string, args: Record<string, unknown>, metadata: Record<string, unknown> | undefined): ToolCall {
  const name = typeof metadata?.function_name === "string" ? metadata.function_name : ACTION_TOOLS[kind] ?? kind;
  // The call as the model made it holds the edit itself (older `edit` events leave `content` empty).
  const called = calledArguments(metadata);
  const kept = called ?? Object.fromEntries(Object.entries(args).filter(([key, value]) => !BOOKKEEPING_ARGS.has(key) && value !== null));
  const tool: ToolCall = { name, args: kept };
  if (typeof metadata?.tool_call_id === "string") tool.id = metadata.tool_call_id;
  if (kind === "run" && typeof args.command === "string") tool.command = args.command;
  return tool;
}

/** The arguments of the model's tool call this event executes (found by `tool_call_id` in the model response). */
function calledArguments(metadata: Record<string, unknown> | undefined): Record<string, unknown> | undefined {
  const response = isRecord(metadata?.model_response) ? metadata.model_response : undefined;
  const choices = Array.isArray(response?.choices) ? response.choices : [];
  for (const choice of choices) {
    const calls = isRecord(choice) && isRecord(choice.message) && Array.isArray(choice.message.tool_calls) ? choice.message.tool_calls : [];
    const call = calls.find((candidate) => isRecord(candidate) && candidate.id === metadata?.tool_call_id);
    const raw = isRecord(call) && isRecord(call.function) ? call.function.arguments : undefined;
    if (isRecord(raw)) return raw;
    if (typeof raw !== "string") continue;
    try {
      const parsed: unknown = JSON.parse(raw);
      if (isRecord(parsed)) return parsed;
    } catch {
      // arguments the model garbled: the event's own args stand in
    }
  }
  return undefined;
}

function observationOf(event: Record<string, unknown>): Observation {
  const extras = isRecord(event.extras) ? event.extras : {};
  const metadata = isRecord(extras.metadata) ? extras.metadata : {};
  const text = contentText(event.content) || (typeof event.message === "string" ? event.message : "");
  const observation: Observation = { text };
  const exitCode = [metadata.exit_code, extras.exit_code, event.exit_code].find((value) => typeof value === "number") as number | undefined;
  if (exitCode !== undefined && Number.isInteger(exitCode)) observation.exit_code = exitCode;
  if (event.observation === "error" || /^ERROR:/.test(text) || event.success === false) observation.is_error = true;
  return observation;
}

/** One raw event with where it came from. */
export interface LocatedEvent {
  value: unknown;
  source: SourceRef;
}

interface OpenStep {
  action: ActionParts;
  sources: SourceRef[];
  observation?: Observation;
  /** Legacy histories have no ids: an observation answers the latest action still waiting. */
  waiting: boolean;
}

/**
 * Steps from an event stream: one per action (kept in order), observations joined to the action whose
 * `id` is their `cause` (or, in legacy streams without ids, to the latest unanswered action).
 * An observation that answers no action (an agent error, a rejected call) is a step of its own;
 * bare agent-state notices are not steps. Undecodable events are counted in `warnings`.
 */
export async function openHandsSteps(events: AsyncIterable<LocatedEvent> | Iterable<LocatedEvent>, warnings: WarningLog): Promise<{ steps: Step[]; task?: string; finish?: OutcomeEvidence }> {
  const open: OpenStep[] = [];
  const byId = new Map<number, OpenStep>();
  const responseGroups = new Map<string, number>();
  let task: string | undefined;
  let finish: OutcomeEvidence | undefined;
  for await (const { value, source } of events) {
    const event = decodeOpenHandsEvent(value);
    if (!event) {
      warnings.add(source, "not an OpenHands action or observation event");
      continue;
    }
    if (event.type === "action") {
      const step: OpenStep = { action: { ...event.parts }, sources: [source], waiting: true };
      // Legacy events name no source; every OpenHands run opens with the user's message.
      if (event.anonymous && event.kind === "message" && open.length === 0) step.action.actor = "user";
      if (event.responseId && (event.callsInResponse ?? 1) > 1) step.action.parallel_group = event.responseId;
      if (event.responseId && responseGroups.has(event.responseId)) delete step.action.tokens; // one model call, counted once
      if (event.responseId) responseGroups.set(event.responseId, open.length);
      if (event.kind === "message" && step.action.actor === "user" && task === undefined) task = step.action.text;
      if (event.kind === "finish") finish = { name: "finish", status: finishStatus(value), source, ...(event.parts.text ? { detail: event.parts.text.slice(0, 500) } : {}) };
      if (event.id !== undefined) byId.set(event.id, step);
      open.push(step);
      continue;
    }
    if (STATUS_ONLY.has(event.kind)) continue;
    const answered = event.cause !== undefined ? byId.get(event.cause) : event.id === undefined ? latestWaiting(open) : undefined;
    if (answered) {
      answered.observation = answered.observation ? { ...event.result, text: `${answered.observation.text}\n${event.result.text}` } : event.result;
      answered.sources.push(source);
      answered.waiting = false;
    } else {
      open.push({ action: { actor: event.source, text: event.message || event.result.text }, sources: [source], observation: event.result, waiting: false });
    }
  }
  const steps = open.map((step, index) => assembleStep(index + 1, step.action, step.observation, step.sources));
  return { steps, task, ...(finish ? { finish } : {}) };
}

/** Legacy histories (no ids): the latest tool call still without an observation. */
function latestWaiting(open: OpenStep[]): OpenStep | undefined {
  for (let index = open.length - 1; index >= 0; index -= 1) if (open[index]!.waiting && open[index]!.action.tool) return open[index];
  return undefined;
}

/** The agent's own claim at `finish` (`task_completed`): evidence, never a verdict. */
function finishStatus(raw: unknown): string {
  const event = typeof raw === "string" ? (JSON.parse(raw) as unknown) : raw;
  const args = isRecord(event) && isRecord(event.args) ? event.args : {};
  return args.task_completed === undefined || args.task_completed === null ? "finished" : `task_completed: ${String(args.task_completed)}`;
}
