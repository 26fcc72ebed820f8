import { randomUUID } from "node:crypto";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { z } from "zod";

/**
 * A scripted OpenAI-compatible endpoint on 127.0.0.1, so tests drive the real ChatOpenAI client
 * (request building, tool-call parsing, usage accounting) with no network and no API key.
 * `POST /v1/chat/completions` answers each request with the next scripted reply.
 */

/** What the "model" says next: tool calls, text, or both; usage defaults to a fixed count per reply. */
export interface ScriptedReply {
  toolCalls?: { name: string; args: unknown }[];
  content?: string;
  usage?: { prompt_tokens: number; completion_tokens: number };
}

/** A script is a list of replies, or a function of the request (and its index) for open-ended loops. */
export type Script = ScriptedReply[] | ((request: ChatRequest, index: number) => ScriptedReply);

const ChatMessage = z.looseObject({
  role: z.string(),
  content: z.union([z.string(), z.null(), z.array(z.unknown())]).optional(),
  tool_call_id: z.string().optional(),
  tool_calls: z.array(z.looseObject({ id: z.string(), function: z.object({ name: z.string(), arguments: z.string() }) })).optional(),
});
const ChatRequest = z.looseObject({
  model: z.string(),
  messages: z.array(ChatMessage),
  tools: z.array(z.looseObject({ type: z.literal("function"), function: z.looseObject({ name: z.string() }) })).optional(),
  tool_choice: z.unknown().optional(),
  stream: z.boolean().optional(),
});
export type ChatRequest = z.infer<typeof ChatRequest>;

export interface ScriptedOpenAI {
  /** Base URL to give ChatOpenAI (`configuration.baseURL`) or OPENAI_BASE_URL. */
  baseURL: string;
  /** Every request the client sent, parsed, in order. */
  requests: ChatRequest[];
  /** The usage the server reported, summed: what a correct client-side count must add up to. */
  served: { calls: number; prompt_tokens: number; completion_tokens: number };
  close(): Promise<void>;
}

export const DEFAULT_USAGE = { prompt_tokens: 120, completion_tokens: 30 };

export async function startScriptedOpenAI(script: Script): Promise<ScriptedOpenAI> {
  const requests: ChatRequest[] = [];
  const served = { calls: 0, prompt_tokens: 0, completion_tokens: 0 };
  const server = createServer(async (req, res) => {
    if (req.method !== "POST" || !req.url?.endsWith("/chat/completions")) return sendError(res, 404, `no route ${req.method} ${req.url}`);
    const parsed = ChatRequest.safeParse(parseJson(await readBody(req)));
    if (!parsed.success) return sendError(res, 400, `bad request: ${parsed.error.message}`);
    const index = requests.length;
    requests.push(parsed.data);
    const reply = typeof script === "function" ? script(parsed.data, index) : script[index];
    // 400, not 500: the client does not retry it, so a test that over-calls fails fast and clearly.
    if (!reply) return sendError(res, 400, `the script has no reply for request ${index + 1}`);
    const usage = reply.usage ?? DEFAULT_USAGE;
    served.calls += 1;
    served.prompt_tokens += usage.prompt_tokens;
    served.completion_tokens += usage.completion_tokens;
    if (parsed.data.stream) sendStream(res, parsed.data.model, reply, usage);
    else sendJson(res, 200, completion(parsed.data.model, reply, usage));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    baseURL: `http://127.0.0.1:${port}/v1`,
    requests,
    served,
    close: () => new Promise((resolve, reject) => server.close((err) => (err ? reject(err) : resolve()))),
  };
}

/** Unique ids everywhere: LangGraph's messages reducer de-duplicates by id. */
function completion(model: string, reply: ScriptedReply, usage: NonNullable<ScriptedReply["usage"]>) {
  const toolCalls = toolCallsOf(reply);
  return {
    id: `chatcmpl-${randomUUID()}`,
    object: "chat.completion",
    created: Math.floor(Date.now() / 1000),
    model,
    choices: [
      {
        index: 0,
        message: { role: "assistant", content: reply.content ?? null, ...(toolCalls.length > 0 ? { tool_calls: toolCalls } : {}) },
        finish_reason: toolCalls.length > 0 ? "tool_calls" : "stop",
      },
    ],
    usage: { ...usage, total_tokens: usage.prompt_tokens + usage.completion_tokens },
  };
}

/** The same reply as server-sent events, for clients that stream (graph streamMode "messages"). */
function sendStream(res: ServerResponse, model: string, reply: ScriptedReply, usage: NonNullable<ScriptedReply["usage"]>): void {
  const id = `chatcmpl-${randomUUID()}`;
  const created = Math.floor(Date.now() / 1000);
  const toolCalls = toolCallsOf(reply).map((call, index) => ({ index, ...call }));
  const chunk = (delta: object, finish: string | null, extra: object = {}) => ({ id, object: "chat.completion.chunk", created, model, choices: [{ index: 0, delta, finish_reason: finish }], ...extra });
  res.writeHead(200, { "content-type": "text/event-stream" });
  const events = [
    chunk({ role: "assistant", content: reply.content ?? "", ...(toolCalls.length > 0 ? { tool_calls: toolCalls } : {}) }, null),
    chunk({}, toolCalls.length > 0 ? "tool_calls" : "stop"),
    { id, object: "chat.completion.chunk", created, model, choices: [], usage: { ...usage, total_tokens: usage.prompt_tokens + usage.completion_tokens } },
  ];
  for (const event of events) res.write(`data: ${JSON.stringify(event)}\n\n`);
  res.end("data: [DONE]\n\n");
}

function toolCallsOf(reply: ScriptedReply) {
  return (reply.toolCalls ?? []).map((call) => ({ id: `call_${randomUUID().slice(0, 12)}`, type: "function", function: { name: call.name, arguments: JSON.stringify(call.args) } }));
}

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { "content-type": "application/json" });
  res.end(JSON.stringify(body));
}

function sendError(res: ServerResponse, status: number, message: string): void {
  sendJson(res, status, { error: { message, type: "invalid_request_error", code: null } });
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString("utf8");
}

/** The tool names a request offered the model. */
export function offeredTools(request: ChatRequest): string[] {
  return (request.tools ?? []).map((offered) => offered.function.name);
}

/** The tool results the client sent back in a request, in order. */
export function toolResults(request: ChatRequest): string[] {
  return request.messages.filter((message) => message.role === "tool").map((message) => (typeof message.content === "string" ? message.content : JSON.stringify(message.content)));
}
