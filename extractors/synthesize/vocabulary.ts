/**
 * The words agent logs use for their parts. Schema induction reads key names and values through
 * these lists; they are conventions of the field (OpenAI, Anthropic, LangChain, AutoGen, OTel GenAI…),
 * not knowledge of any one format.
 */

/** A key split into lower-case words: `toolCallId` → tool call id; `gen_ai.tool.name` → gen ai tool name. */
export function keyTokens(key: string): string[] {
  return key
    .replace(/([a-z0-9])([A-Z])/g, "$1 $2")
    .toLowerCase()
    .split(/[^a-z0-9]+/)
    .filter((token) => token !== "");
}

export const ROLE_WORDS = new Set(["role", "speaker", "sender", "author", "from", "source", "actor", "participant", "who", "agent"]);
export const CONTENT_WORDS = new Set(["content", "text", "message", "msg", "body", "utterance", "output", "value", "response", "answer", "raw", "final", "reply", "completion", "summary", "parts"]);
export const THOUGHT_WORDS = new Set(["thought", "thoughts", "reasoning", "thinking", "analysis", "plan", "rationale", "reflection"]);
export const TIME_WORDS = new Set(["timestamp", "time", "ts", "created", "date", "datetime", "start", "started"]);
export const TOOL_WORDS = new Set(["tool", "function", "action", "func", "plugin", "command", "skill"]);
export const ARGS_WORDS = new Set(["args", "arguments", "input", "inputs", "parameters", "params", "code", "command", "cmd"]);
export const ID_WORDS = new Set(["id", "callid", "call"]);
export const RESULT_WORDS = new Set(["observation", "observations", "output", "outputs", "result", "results", "response", "stdout", "return", "returned"]);
export const ERROR_WORDS = new Set(["error", "iserror", "failed", "exception"]);
export const CALLS_WORDS = new Set(["calls", "call", "uses", "use", "invocations"]);
/** Words that mark a prompt or a description, not what was said or done. */
export const INPUT_WORDS = new Set(["input", "inputs", "prompt", "prompts", "description", "instructions", "system", "schema", "request"]);

/** Segments under which fields are bookkeeping about a record, not its content. */
export const SECONDARY_WORDS = new Set(["extra", "metadata", "meta", "debug", "raw", "internal", "usage", "metrics", "stats", "config", "resource", "context"]);

export const RECORD_WORDS = new Set([...ROLE_WORDS, ...CONTENT_WORDS, ...THOUGHT_WORDS, ...TOOL_WORDS, ...RESULT_WORDS, "type", "event", "kind", "name", "messages"]);

/** Role values of the conversation formats everyone uses. */
export const USER_VALUES = new Set(["user", "human", "customer", "client", "usermessage", "userproxy", "enduser"]);
export const AGENT_VALUES = new Set(["assistant", "agent", "ai", "model", "bot", "aimessage", "chatbot", "llm"]);
export const SYSTEM_VALUES = new Set(["system", "developer", "systemmessage"]);
export const RESULT_VALUES = new Set(["tool", "function", "toolresult", "toolresponse", "functionresult", "observation", "environment", "ipython", "functioncalloutput", "tooloutput", "toolmessage", "functionresponse"]);

function squash(value: string): string {
  return value.toLowerCase().replace(/[^a-z0-9]/g, "");
}

/** user / agent / system / tool for a role-like value, undefined for a name (e.g. "Planner"). */
export function actorClass(value: string): "user" | "agent" | "system" | "tool" | undefined {
  const squashed = squash(value);
  if (USER_VALUES.has(squashed)) return "user";
  if (AGENT_VALUES.has(squashed)) return "agent";
  if (SYSTEM_VALUES.has(squashed)) return "system";
  if (RESULT_VALUES.has(squashed)) return "tool";
  return undefined;
}

export type KindClass = "call" | "result" | "message" | "other";

/**
 * What a discriminator value (`type`, `event`, `run_type`…) says a record is. Model turns count as
 * messages even when named "call_llm"; results before calls, since "function_call_output" is both.
 */
export function kindClass(value: string): KindClass {
  const words = keyTokens(value);
  const has = (list: string[]) => words.some((word) => list.includes(word));
  if (has(["llm", "model", "chat", "completion", "generation", "generate"])) return "message";
  if (RESULT_VALUES.has(squash(value)) || has(["result", "output", "observation", "response", "return", "returned"])) return "result";
  if (has(["tool", "function", "action", "command", "exec", "execute", "call", "calls", "use", "invoke"]) && !has(["agent"])) return "call";
  if (actorClass(value) !== undefined || has(["message", "user", "bot", "assistant", "human", "ai", "agent", "text", "utterance", "reply", "say", "thought"])) return "message";
  return "other";
}
