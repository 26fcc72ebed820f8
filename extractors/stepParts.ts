import type { Observation, SourceRef, Step } from "../schema/step.js";

/**
 * What a framework decoder says about one action record, before it is numbered and located:
 * the same decoders serve the raw-format extractors and the CodeTracer normalized runs.
 */
export type ActionParts = Pick<Step, "actor" | "text" | "thought" | "tool" | "timestamp" | "tokens" | "parallel_group">;

/** A Step from decoded parts. The kind is provisional ("other" for actions) until buildTree classifies it. */
export function assembleStep(id: number, action: ActionParts, observation: Observation | undefined, sources: SourceRef[]): Step {
  const step: Step = { id, kind: action.tool ? "other" : "message", actor: action.actor, sources };
  if (action.text) step.text = action.text;
  if (action.thought) step.thought = action.thought;
  if (action.tool) step.tool = action.tool;
  if (observation) step.observation = observation;
  if (action.timestamp) step.timestamp = action.timestamp;
  if (action.tokens) step.tokens = action.tokens;
  if (action.parallel_group !== undefined) step.parallel_group = action.parallel_group;
  return step;
}

/** Unix seconds (as Python's time.time() writes them) → ISO 8601; ISO strings pass through. */
export function timestampOf(value: unknown): string | undefined {
  if (typeof value === "string" && value !== "") return value;
  if (typeof value !== "number" || !Number.isFinite(value)) return undefined;
  const date = new Date(value * 1000);
  return Number.isNaN(date.getTime()) ? undefined : date.toISOString();
}

/** OpenAI-style `usage` → token counts, when there are any. */
export function tokensOfUsage(usage: unknown): Step["tokens"] | undefined {
  if (typeof usage !== "object" || usage === null) return undefined;
  const record = usage as Record<string, unknown>;
  const number = (value: unknown) => (typeof value === "number" ? value : undefined);
  const details = record.prompt_tokens_details as Record<string, unknown> | undefined;
  const tokens = { prompt: number(record.prompt_tokens), completion: number(record.completion_tokens), cached: number(details?.cached_tokens) };
  if (!tokens.prompt && !tokens.completion && !tokens.cached) return undefined;
  return Object.fromEntries(Object.entries(tokens).filter(([, value]) => value !== undefined));
}

/** Trailing blank lines (terminal screens are padded with them) carry nothing. */
export function trimTrailingBlankLines(text: string): string {
  return text.replace(/\s+$/, "");
}
