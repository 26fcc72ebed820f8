import { ReplayMessages, type ChatMessage, type ReplayPlan } from "../schema/replay.js";
import type { Step } from "../schema/step.js";
import type { Trace } from "../schema/trace.js";

/** Tool output longer than this is cut in the bundle (the full text stays in trace.json). */
const MAX_TOOL_OUTPUT_CHARS = 16_000;

const SYSTEM_PROMPT = [
  "You are a software agent resuming an earlier attempt at a task.",
  "The conversation below replays that attempt exactly as it happened, up to the last good state before it went wrong;",
  "the environment has been restored to that point. The final message explains what went wrong after it and what to do instead.",
  "Continue the task from there.",
].join(" ");

/**
 * `replay.messages.json`: the conversation up to the breakpoint as an OpenAI chat-completions request
 * body (system, user, assistant with `tool_calls`, and `tool` results with matching `tool_call_id`),
 * ending with a user message that carries the guidance. Validated by its zod schema before it is returned.
 */
export function buildReplayMessages(trace: Trace, replay: ReplayPlan): ReplayMessages {
  const upTo = replay.resume_after_step_id ?? 0;
  const kept = trace.steps.filter((step) => step.id <= upTo);
  const messages: ChatMessage[] = [{ role: "system", content: systemContent(kept) }];
  if (!kept.some((step) => step.actor === "user") && trace.run.task) messages.push({ role: "user", content: trace.run.task });
  const ids = new CallIds();
  const tools = new Map<string, string>();
  for (const group of groupParallel(kept)) {
    if (group[0]!.actor === "system" && messages.length === 1 && group[0] === kept[0]) continue;
    if (!isAgentStep(group[0]!)) {
      const content = group.map(stepText).join("\n\n").trim();
      if (content) messages.push({ role: "user", content });
      continue;
    }
    const calls = group.filter((step) => step.tool).map((step) => ({ step, id: ids.next(step), name: toolName(step.tool!.name) }));
    const content = group.map((step) => step.text ?? "").join("\n\n").trim();
    if (calls.length === 0) {
      if (content) messages.push({ role: "assistant", content });
      continue;
    }
    messages.push({
      role: "assistant",
      content: content || null,
      tool_calls: calls.map(({ step, id, name }) => ({ id, type: "function" as const, function: { name, arguments: JSON.stringify(callArguments(step)) } })),
    });
    for (const { step, id, name } of calls) {
      tools.set(name, step.tool!.name);
      messages.push({ role: "tool", tool_call_id: id, content: toolOutput(step) });
    }
  }
  messages.push({ role: "user", content: guidanceMessage(replay) });
  return ReplayMessages.parse({
    messages,
    tools: [...tools].map(([name, original]) => ({
      type: "function",
      function: { name, description: `The \`${original}\` tool of the original run.`, parameters: { type: "object", additionalProperties: true } },
    })),
  });
}

function systemContent(kept: Step[]): string {
  const original = kept[0]?.actor === "system" ? stepText(kept[0]) : "";
  return original ? `${SYSTEM_PROMPT}\n\nThe original system prompt follows.\n\n${original}` : SYSTEM_PROMPT;
}

function guidanceMessage(replay: ReplayPlan): string {
  const budget = replay.budget.steps > 0 ? `\n\nBudget: at most ${replay.budget.steps} more steps${replay.budget.tokens ? ` (about ${replay.budget.tokens} tokens)` : ""}, as the original attempt spent from here.` : "";
  return `[Replay guidance from CodeTracer]\n${replay.guidance}\n\nState: ${replay.restore.description}${budget}`;
}

const isAgentStep = (step: Step) => step.actor === "agent" || step.actor === "assistant";

function stepText(step: Step): string {
  return [step.text, step.tool ? `${step.tool.name}: ${step.tool.command ?? JSON.stringify(step.tool.args ?? {})}` : "", step.observation?.text].filter(Boolean).join("\n");
}

/** Agent steps of one parallel group become one assistant message with several tool calls. */
function groupParallel(steps: Step[]): Step[][] {
  const groups: Step[][] = [];
  for (const step of steps) {
    const last = groups[groups.length - 1];
    const previous = last?.[last.length - 1];
    if (previous && step.parallel_group !== undefined && previous.parallel_group === step.parallel_group && isAgentStep(step) && isAgentStep(previous)) last!.push(step);
    else groups.push([step]);
  }
  return groups;
}

function callArguments(step: Step): unknown {
  const args = step.tool!.args;
  if (args !== undefined && args !== null && typeof args === "object") return args;
  if (step.tool!.command !== undefined) return { command: step.tool!.command };
  return args === undefined ? {} : { input: args };
}

function toolOutput(step: Step): string {
  const text = step.observation?.text ?? "(no output was recorded for this call)";
  return text.length > MAX_TOOL_OUTPUT_CHARS ? `${text.slice(0, MAX_TOOL_OUTPUT_CHARS)}\n[… ${text.length - MAX_TOOL_OUTPUT_CHARS} more characters]` : text;
}

/** Function names must match ^[A-Za-z0-9_-]{1,64}$ in the OpenAI API. */
function toolName(name: string): string {
  return name.replace(/[^A-Za-z0-9_-]+/g, "_").slice(0, 64) || "tool";
}

/** Tool-call ids as the log wrote them, made unique (some models reuse ids such as `functions.Bash:3`). */
class CallIds {
  private used = new Set<string>();
  next(step: Step): string {
    let id = step.tool?.id && step.tool.id.trim() ? step.tool.id : `call_${step.id}`;
    if (this.used.has(id)) id = `${id}#step${step.id}`;
    this.used.add(id);
    return id;
  }
}
