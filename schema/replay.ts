import { z } from "zod";

export const ReplayPlan = z.object({
  run: z.string(),
  /** Nothing to replay when the run did not fail or no onset was found. */
  resumable: z.boolean(),
  onset_step_id: z.number().int().nullable(),
  /** Resume right after this step: the last good state before the onset (0 = from the very start). */
  resume_after_step_id: z.number().int().min(0).nullable(),
  restore: z.object({
    /** State-changing steps up to the breakpoint, to re-apply (or keep) before resuming. */
    change_step_ids: z.array(z.number().int()),
    description: z.string(),
  }),
  guidance: z.string(),
  /** What the original run spent from the onset on: the resumed agent gets the same. */
  budget: z.object({ steps: z.number().int().min(0), tokens: z.number().int().min(0).optional() }),
});
export type ReplayPlan = z.infer<typeof ReplayPlan>;

/** OpenAI chat-completions messages: what `replay.messages.json` holds, so any compatible agent can resume. */
export const ChatToolCall = z.object({
  id: z.string().min(1),
  type: z.literal("function"),
  function: z.object({ name: z.string().regex(/^[A-Za-z0-9_-]{1,64}$/), arguments: z.string() }),
});
export const ChatMessage = z.discriminatedUnion("role", [
  z.object({ role: z.literal("system"), content: z.string() }),
  z.object({ role: z.literal("user"), content: z.string() }),
  z.object({ role: z.literal("assistant"), content: z.string().nullable(), tool_calls: z.array(ChatToolCall).min(1).optional() }),
  z.object({ role: z.literal("tool"), tool_call_id: z.string().min(1), content: z.string() }),
]);
export type ChatMessage = z.infer<typeof ChatMessage>;

/**
 * The resumable bundle: a chat-completions request body without the model. Besides each message's
 * shape it enforces the conversation rules APIs check: it starts with the system message, every tool
 * call is answered by exactly one tool message right after its assistant message, ids are unique,
 * and it ends with the user message carrying the guidance.
 */
export const ReplayMessages = z
  .object({
    messages: z.array(ChatMessage).min(2),
    tools: z.array(z.object({ type: z.literal("function"), function: z.object({ name: z.string(), description: z.string(), parameters: z.record(z.string(), z.unknown()) }) })),
  })
  .superRefine((bundle, ctx) => {
    for (const problem of conversationProblems(bundle.messages)) ctx.addIssue({ code: "custom", message: problem, path: ["messages"] });
  });
export type ReplayMessages = z.infer<typeof ReplayMessages>;

export function conversationProblems(messages: ChatMessage[]): string[] {
  const problems: string[] = [];
  if (messages[0]?.role !== "system") problems.push("the first message must be the system message");
  if (messages[messages.length - 1]?.role !== "user") problems.push("the last message must be the user message with the guidance");
  const seen = new Set<string>();
  let pending = new Set<string>();
  messages.forEach((message, index) => {
    if (message.role === "tool") {
      if (!pending.delete(message.tool_call_id)) problems.push(`message ${index}: tool result ${message.tool_call_id} answers no pending tool call`);
      return;
    }
    if (pending.size > 0) problems.push(`message ${index}: tool calls ${[...pending].join(", ")} were never answered`);
    pending = new Set();
    if (message.role === "assistant") {
      for (const call of message.tool_calls ?? []) {
        if (seen.has(call.id)) problems.push(`message ${index}: tool call id ${call.id} is used twice`);
        seen.add(call.id);
        pending.add(call.id);
      }
      if (message.content === null && !message.tool_calls) problems.push(`message ${index}: an assistant message needs content or tool calls`);
    }
  });
  if (pending.size > 0) problems.push(`tool calls ${[...pending].join(", ")} were never answered`);
  return problems;
}
