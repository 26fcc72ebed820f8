/**
 * A scripted OpenAI-compatible server for tests of LLM code (no network, no key). The server itself
 * is the project's shared one (tests/helpers/scriptedOpenAI.ts: node:http on 127.0.0.1, a unique `id`
 * per response, SSE when the client streams); this module adds what structured-output tests need.
 */
import type { ChatRequest, ScriptedReply } from "./scriptedOpenAI.js";

export { startScriptedOpenAI as startMockOpenAI, type ChatRequest, type Script, type ScriptedOpenAI as MockOpenAI, type ScriptedReply } from "./scriptedOpenAI.js";

/** A reply whose content is this value as JSON: what a model answering in `json_schema` mode sends. */
export function jsonReply(value: unknown): ScriptedReply {
  return { content: JSON.stringify(value) };
}

/** The structured-output request a client made: the `response_format` it sent, if any. */
export function responseFormatOf(request: ChatRequest): { type?: string; json_schema?: { name?: string; schema?: unknown } } | undefined {
  return (request as { response_format?: { type?: string; json_schema?: { name?: string; schema?: unknown } } }).response_format;
}

/** The text of every message of a request, joined: for asserting what the model was shown. */
export function promptText(request: ChatRequest): string {
  return request.messages.map((message) => (typeof message.content === "string" ? message.content : JSON.stringify(message.content))).join("\n");
}
