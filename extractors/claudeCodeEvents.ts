import { z } from "zod";
import type { SourceRef, Step } from "../schema/step.js";
import { contentText, isRecord, type WarningLog } from "./io.js";
import { exitCodeFromText, shellCommandOf } from "./tools.js";

/**
 * Claude Code `--output-format stream-json` events → Steps. The same events arrive from a JSONL file
 * or from a terminal recording, so this file knows nothing about where they came from: each event is
 * pushed with the source it was read from.
 *
 * Rules (issue 3):
 * - One Step per unique tool call; `tool.id` is the `tool_use` id as written. A tool_use emitted again
 *   while its call is still open (kimi emits each twice, first with zero usage) is the same call: the
 *   later emission is what ran, so its name/input and place in the order win; both lines are sources.
 * - Results pair by position: a `tool_result` closes the OLDEST open call with that id in the same
 *   (sub)agent scope, never "the call with that id" (kimi reuses `functions.Bash:3`).
 * - Text and thinking blocks belong to the assistant message they came in (stream-json writes one
 *   content block per line, the message id ties them): before a tool_use of that message they become
 *   its `text` / `thought`; left over when the message ends, they become a message step.
 * - Several tool calls of one assistant message share `parallel_group` (the message id).
 * - A top-level user text is a user message step (the task, when it opens the session). A subagent's
 *   prompt repeats the `Task`/`Agent` call's input, so it is only added to that call's sources; a
 *   harness attachment (`isMeta`/`isSynthetic`, e.g. the PDF a Read returned) goes to the latest result.
 * - system events are not steps (init gives the model); `result` events give the outcome.
 */

/** Observation/argument text longer than this is clipped (head and tail kept) so memory stays bounded. */
export const MAX_TEXT_CHARS = 64 * 1024;
const TAIL_CHARS = 16 * 1024;
/** Claude Code writes this placeholder for an empty text block. */
const EMPTY_TEXT = "(no content)";

const Usage = z.looseObject({
  input_tokens: z.number().optional(),
  output_tokens: z.number().optional(),
  cache_read_input_tokens: z.number().optional(),
});
const Message = z.looseObject({ id: z.string().optional(), content: z.unknown(), usage: Usage.nullish() });
const Scope = z.string().nullish();
const AssistantEvent = z.looseObject({ type: z.literal("assistant"), message: Message, parent_tool_use_id: Scope, timestamp: z.string().optional() });
const UserEvent = z.looseObject({
  type: z.literal("user"),
  message: Message,
  parent_tool_use_id: Scope,
  timestamp: z.string().optional(),
  isMeta: z.boolean().optional(),
  isSynthetic: z.boolean().optional(),
});
const SystemEvent = z.looseObject({ type: z.literal("system"), subtype: z.string().optional(), model: z.string().optional() });
const ResultEvent = z.looseObject({
  type: z.literal("result"),
  subtype: z.string().optional(),
  is_error: z.boolean().optional(),
  result: z.string().optional(),
  num_turns: z.number().optional(),
});
const ToolUseBlock = z.looseObject({ type: z.enum(["tool_use", "server_tool_use"]), id: z.string().optional(), name: z.string(), input: z.unknown() });
const ToolResultBlock = z.looseObject({ type: z.string(), tool_use_id: z.string(), content: z.unknown(), is_error: z.boolean().nullish() });
const TextBlock = z.looseObject({ type: z.literal("text"), text: z.string() });
const ThinkingBlock = z.looseObject({ type: z.literal("thinking"), thinking: z.string() });

/** Event types that carry nothing a Step needs (partial-message streaming, SDK control traffic). */
const IGNORED_TYPES = new Set(["stream_event", "control_request", "control_response", "control_cancel_request", "keep_alive"]);

/** A `result` event: how the Claude Code session ended. */
export interface SessionResult {
  subtype: string;
  isError: boolean;
  text?: string;
  source: SourceRef;
}

/** Where an event was read from, and when it happened if the container says so (a cast does). */
export interface EventOrigin {
  source: SourceRef;
  timestamp?: string;
}

/** A step being built; sources are kept apart until the end so their order can follow the contract. */
interface Draft {
  step: Omit<Step, "id" | "sources">;
  action: SourceRef;
  result?: SourceRef;
  extra: SourceRef[];
  /** The assistant message the call was (last) emitted in: its parallel group candidate. */
  group?: string;
}

interface OpenMessage {
  id: string;
  texts: string[];
  thoughts: string[];
  sources: SourceRef[];
  usage?: Step["tokens"];
  usageTaken: boolean;
}

export class ClaudeCodeSession {
  private readonly drafts: Draft[] = [];
  /** Unpaired tool calls by scope+id, oldest first. */
  private readonly open = new Map<string, Draft[]>();
  private message: OpenMessage | undefined;
  /** The call that got the latest result: harness attachments (`isMeta` user events) belong to it. */
  private lastResult: Draft | undefined;
  readonly results: SessionResult[] = [];
  task: string | undefined;
  model: string | undefined;

  constructor(private readonly warnings: WarningLog) {}

  /** Take one decoded event (a JSON object with a `type`). */
  push(event: Record<string, unknown>, origin: EventOrigin): void {
    switch (event.type) {
      case "assistant":
        return this.parse(AssistantEvent, event, origin, (parsed) => this.assistant(parsed, origin));
      case "user":
        this.closeMessage();
        return this.parse(UserEvent, event, origin, (parsed) => this.user(parsed, origin));
      case "result":
        this.closeMessage();
        return this.parse(ResultEvent, event, origin, (parsed) => this.result(parsed, origin));
      case "system":
        return this.parse(SystemEvent, event, origin, (parsed) => {
          if (parsed.subtype === "init" && parsed.model) this.model ??= parsed.model;
        });
      default:
        if (!IGNORED_TYPES.has(String(event.type))) this.warnings.add(origin.source, `unknown Claude Code event type ${JSON.stringify(event.type)}`);
    }
  }

  /** All steps, numbered from 1 in the order their first record appeared. */
  finish(): Step[] {
    this.closeMessage();
    const groupSizes = new Map<string, number>();
    for (const draft of this.drafts) if (draft.step.tool && draft.group) groupSizes.set(draft.group, (groupSizes.get(draft.group) ?? 0) + 1);
    return this.drafts.map((draft, index) => {
      const step: Step = { id: index + 1, ...draft.step, sources: [draft.action, ...(draft.result ? [draft.result] : []), ...draft.extra] };
      if (draft.step.tool && draft.group && (groupSizes.get(draft.group) ?? 0) > 1) step.parallel_group = draft.group;
      return step;
    });
  }

  private parse<T>(schema: z.ZodType<T>, event: unknown, origin: EventOrigin, use: (parsed: T) => void): void {
    const parsed = schema.safeParse(event);
    if (parsed.success) use(parsed.data);
    else this.warnings.add(origin.source, `malformed ${String((event as Record<string, unknown>).type)} event: ${describeIssue(parsed.error)}`);
  }

  private assistant(event: z.infer<typeof AssistantEvent>, origin: EventOrigin): void {
    const id = event.message.id ?? `line ${origin.source.line ?? ""}${origin.source.pointer ?? ""}`;
    if (this.message?.id !== id) {
      this.closeMessage();
      this.message = { id, texts: [], thoughts: [], sources: [], usage: tokensOf(event.message.usage), usageTaken: false };
    }
    const message = this.message!;
    const blocks = Array.isArray(event.message.content) ? event.message.content : [event.message.content];
    for (const block of blocks) {
      if (typeof block === "string") this.addText(message, block, origin);
      else if (!isRecord(block)) this.warnings.add(origin.source, "assistant content block is not an object");
      else if (block.type === "text") this.parse(TextBlock, block, origin, (text) => this.addText(message, text.text, origin));
      else if (block.type === "thinking") this.parse(ThinkingBlock, block, origin, (thinking) => this.addThought(message, thinking.thinking, origin));
      else if (block.type === "redacted_thinking") continue;
      else if (block.type === "tool_use" || block.type === "server_tool_use") this.parse(ToolUseBlock, block, origin, (use) => this.toolUse(use, scopeOf(event.parent_tool_use_id), message, origin));
      else if (typeof block.tool_use_id === "string") this.parse(ToolResultBlock, block, origin, (result) => this.toolResult(result, scopeOf(event.parent_tool_use_id), origin));
      else this.warnings.add(origin.source, `unknown assistant content block ${JSON.stringify(block.type)}`);
    }
  }

  private addText(message: OpenMessage, text: string, origin: EventOrigin): void {
    if (text.trim() === "" || text.trim() === EMPTY_TEXT) return;
    message.texts.push(text);
    addSource(message.sources, origin.source);
  }

  private addThought(message: OpenMessage, thought: string, origin: EventOrigin): void {
    if (thought.trim() === "") return;
    message.thoughts.push(thought);
    addSource(message.sources, origin.source);
  }

  private toolUse(use: z.infer<typeof ToolUseBlock>, scope: string, message: OpenMessage, origin: EventOrigin): void {
    const key = use.id === undefined ? undefined : `${scope}\u0000${use.id}`;
    const reemitted = key === undefined ? undefined : this.open.get(key)?.at(-1);
    const draft = reemitted ?? this.newDraft({ kind: "other", actor: "agent" }, origin);
    if (reemitted) {
      // The later emission is the one that ran: it gives the call its place in the order and its
      // action record; the earlier line stays a source.
      reemitted.extra.unshift(reemitted.action);
      reemitted.action = origin.source;
      this.drafts.splice(this.drafts.indexOf(reemitted), 1);
      this.drafts.push(reemitted);
    } else if (key !== undefined) {
      this.open.set(key, [...(this.open.get(key) ?? []), draft]);
    }
    const args = clipStrings(use.input);
    draft.step.tool = { name: use.name, ...(use.id !== undefined ? { id: use.id } : {}), args };
    const command = shellCommandOf(use.name, args);
    if (command !== undefined) draft.step.tool.command = command;
    draft.group = message.id;
    if (origin.timestamp) draft.step.timestamp = origin.timestamp;
    this.takeMessageParts(message, draft);
  }

  private toolResult(result: z.infer<typeof ToolResultBlock>, scope: string, origin: EventOrigin): void {
    const draft = this.nextOpen(scope, result.tool_use_id);
    if (!draft) {
      this.warnings.add(origin.source, `tool_result for ${result.tool_use_id} matches no open tool_use`);
      return;
    }
    const text = clip(blockText(result.content));
    draft.step.observation = { text };
    if (typeof result.is_error === "boolean") draft.step.observation.is_error = result.is_error;
    const exitCode = exitCodeFromText(text);
    if (exitCode !== undefined) draft.step.observation.exit_code = exitCode;
    draft.result = origin.source;
    this.lastResult = draft;
  }

  /** The oldest open call with this id: in the event's own scope first, then anywhere (scopes can be inconsistent). */
  private nextOpen(scope: string, id: string): Draft | undefined {
    const own = `${scope}\u0000${id}`;
    const key = this.open.get(own)?.length ? own : [...this.open.keys()].find((candidate) => candidate.endsWith(`\u0000${id}`) && this.open.get(candidate)!.length > 0);
    if (key === undefined) return undefined;
    const queue = this.open.get(key)!;
    const draft = queue.shift();
    if (queue.length === 0) this.open.delete(key);
    return draft;
  }

  private user(event: z.infer<typeof UserEvent>, origin: EventOrigin): void {
    const scope = scopeOf(event.parent_tool_use_id);
    const content = event.message.content;
    const blocks = typeof content === "string" ? [{ type: "text", text: content }] : Array.isArray(content) ? content : [content];
    const texts: string[] = [];
    for (const block of blocks) {
      if (isRecord(block) && typeof block.tool_use_id === "string") this.parse(ToolResultBlock, block, origin, (result) => this.toolResult(result, scope, origin));
      else texts.push(blockText(block));
    }
    const text = texts.filter((part) => part.trim() !== "").join("\n");
    if (text === "") return;
    if ((event.isMeta || event.isSynthetic) && this.lastResult) {
      // Harness attachment to the latest result (the pages of a PDF the Read tool returned), not the user speaking.
      const observation = this.lastResult.step.observation;
      if (observation) observation.text = clip(`${observation.text}\n${text}`);
      this.lastResult.extra.push(origin.source);
      return;
    }
    const caller = scope === "" ? undefined : this.open.get(`\u0000${scope}`)?.[0];
    if (caller) {
      // A subagent's prompt: the same text as the calling Task's input.
      caller.extra.push(origin.source);
      return;
    }
    // Only a user message that opens the session is the task; later ones are interruptions or follow-ups.
    if (this.drafts.length === 0 && !this.message) this.task = text;
    const draft = this.newDraft({ kind: "message", actor: "user", text: clip(text) }, origin);
    if (origin.timestamp ?? event.timestamp) draft.step.timestamp = origin.timestamp ?? event.timestamp;
  }

  private result(event: z.infer<typeof ResultEvent>, origin: EventOrigin): void {
    this.results.push({
      subtype: event.subtype ?? "unknown",
      isError: event.is_error === true,
      ...(event.result ? { text: event.result } : {}),
      source: origin.source,
    });
  }

  private newDraft(step: Draft["step"], origin: EventOrigin): Draft {
    const draft: Draft = { step, action: origin.source, extra: [] };
    this.drafts.push(draft);
    return draft;
  }

  /** Text/thinking seen so far in the message go to this call; the message's usage goes to its first step. */
  private takeMessageParts(message: OpenMessage, draft: Draft): void {
    if (message.texts.length > 0 && draft.step.text === undefined) draft.step.text = clip(message.texts.join("\n"));
    if (message.thoughts.length > 0 && draft.step.thought === undefined) draft.step.thought = clip(message.thoughts.join("\n"));
    if (message.texts.length > 0 || message.thoughts.length > 0) {
      for (const source of message.sources) if (!sameSource(source, draft.action)) addSource(draft.extra, source);
    }
    message.texts = [];
    message.thoughts = [];
    message.sources = [];
    if (message.usage && !message.usageTaken) {
      draft.step.tokens = message.usage;
      message.usageTaken = true;
    }
  }

  /** What is left of the message (text after its last call, or a message without calls) is a message step. */
  private closeMessage(): void {
    const message = this.message;
    this.message = undefined;
    if (!message || (message.texts.length === 0 && message.thoughts.length === 0)) return;
    const step: Draft["step"] = { kind: "message", actor: "agent" };
    if (message.texts.length > 0) step.text = clip(message.texts.join("\n"));
    if (message.thoughts.length > 0) step.thought = clip(message.thoughts.join("\n"));
    const draft = this.newDraft(step, { source: message.sources[0]! });
    draft.extra.push(...message.sources.slice(1));
    if (message.usage && !message.usageTaken) draft.step.tokens = message.usage;
  }
}

/** Readable text of message content; binary attachments become a short marker, never their base64. */
function blockText(content: unknown): string {
  if (Array.isArray(content)) return content.map(blockText).filter((part) => part !== "").join("\n");
  if (isRecord(content) && (content.type === "document" || content.type === "image")) {
    const source = isRecord(content.source) ? content.source : {};
    return `[${content.type}${typeof source.media_type === "string" ? ` ${source.media_type}` : ""}]`;
  }
  return contentText(content);
}

function scopeOf(parent: string | null | undefined): string {
  return parent ?? "";
}

function tokensOf(usage: z.infer<typeof Usage> | null | undefined): Step["tokens"] | undefined {
  if (!usage) return undefined;
  const tokens = { prompt: usage.input_tokens, completion: usage.output_tokens, cached: usage.cache_read_input_tokens };
  return tokens.prompt || tokens.completion || tokens.cached ? tokens : undefined;
}

function sameSource(a: SourceRef, b: SourceRef): boolean {
  return a.path === b.path && a.line === b.line && a.pointer === b.pointer;
}

function addSource(sources: SourceRef[], source: SourceRef): void {
  if (!sources.some((known) => sameSource(known, source))) sources.push(source);
}

/** Keep head and tail of an over-long text, saying how much was left out. */
export function clip(text: string, max = MAX_TEXT_CHARS): string {
  if (text.length <= max) return text;
  const head = max - TAIL_CHARS;
  return `${text.slice(0, head)}\n…[${text.length - max} chars omitted]…\n${text.slice(text.length - TAIL_CHARS)}`;
}

/** Clip over-long strings inside tool arguments (a Write of a huge file), leaving the shape intact. */
function clipStrings(value: unknown): unknown {
  if (typeof value === "string") return clip(value);
  if (Array.isArray(value)) return value.map(clipStrings);
  if (isRecord(value)) return Object.fromEntries(Object.entries(value).map(([key, inner]) => [key, clipStrings(inner)]));
  return value;
}

function describeIssue(error: z.ZodError): string {
  const issue = error.issues[0];
  return issue ? `${issue.path.join(".") || "(root)"}: ${issue.message}` : "invalid";
}
