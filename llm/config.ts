import type { ChatOpenAI } from "@langchain/openai";
import { z } from "zod";
import type { AnalyzeOptions } from "../graphs/state.js";
import { UsageError } from "../schema/errors.js";

/**
 * The model used when CODETRACER_MODEL is not set: small, cheap, good at tool calling, and served by
 * OpenAI and by most OpenAI-compatible gateways under this name. Any chat-completions model works.
 */
export const DEFAULT_MODEL = "gpt-4.1-mini";

/** One slow or failing call should not hold a batch: few retries, bounded wait per request. */
export const DEFAULT_MAX_RETRIES = 2;
export const DEFAULT_TIMEOUT_MS = 60_000;

/** The environment variables CodeTracer reads; everything else in the environment is ignored. */
const LlmEnv = z.object({
  OPENAI_API_KEY: z.string().min(1),
  OPENAI_BASE_URL: z.url({ protocol: /^https?$/ }).optional().or(z.literal("").transform(() => undefined)),
  CODETRACER_MODEL: z.string().optional(),
});

/** Everything needed to talk to one OpenAI-compatible endpoint. */
export interface LlmConfig {
  apiKey: string;
  /** Undefined: the OpenAI API itself. */
  baseURL?: string;
  model: string;
  maxRetries: number;
  timeoutMs: number;
}

export type LlmMode = AnalyzeOptions["llm"];

/**
 * Decide whether this analysis uses an LLM: "off" never, "auto" when a key is set, "on" always — and
 * "on" without a key is the user's mistake, said plainly, not a silent fall back to offline.
 */
export function resolveLlmConfig(mode: LlmMode, env: NodeJS.ProcessEnv = process.env): LlmConfig | undefined {
  if (mode === "off") return undefined;
  if (!env.OPENAI_API_KEY) {
    if (mode === "on") throw new UsageError("--llm on needs OPENAI_API_KEY (and optionally OPENAI_BASE_URL, CODETRACER_MODEL)");
    return undefined;
  }
  const parsed = LlmEnv.safeParse(env);
  if (!parsed.success) throw new UsageError(`OPENAI_BASE_URL is not an http(s) URL: ${JSON.stringify(env.OPENAI_BASE_URL)}`);
  const { OPENAI_API_KEY: apiKey, OPENAI_BASE_URL: baseURL, CODETRACER_MODEL: model } = parsed.data;
  return {
    apiKey,
    ...(baseURL ? { baseURL } : {}),
    model: model?.trim() || DEFAULT_MODEL,
    maxRetries: DEFAULT_MAX_RETRIES,
    timeoutMs: DEFAULT_TIMEOUT_MS,
  };
}

/** True when the options (and the environment, for "auto") call for the LLM agents. */
export function llmEnabled(options: Pick<AnalyzeOptions, "llm">, env: NodeJS.ProcessEnv = process.env): boolean {
  return resolveLlmConfig(options.llm, env) !== undefined;
}

/**
 * A chat model for the configured endpoint. Temperature 0 so the same trace gets the same diagnosis
 * as far as the endpoint allows — except for reasoning models, which reject any temperature.
 */
export async function createChatModel(config: LlmConfig): Promise<ChatOpenAI> {
  // Loaded on first use: the OpenAI client costs a fifth of a second of start-up that offline runs never need.
  const { ChatOpenAI } = await import("@langchain/openai");
  return new ChatOpenAI({
    model: config.model,
    apiKey: config.apiKey,
    ...(acceptsTemperature(config.model) ? { temperature: 0 } : {}),
    maxRetries: config.maxRetries,
    timeout: config.timeoutMs,
    ...(config.baseURL ? { configuration: { baseURL: config.baseURL } } : {}),
  });
}

/** OpenAI's reasoning models (o1, o3, gpt-5 except gpt-5-chat) refuse a temperature parameter. */
function acceptsTemperature(model: string): boolean {
  return !/^o\d/.test(model) && !(model.startsWith("gpt-5") && !model.startsWith("gpt-5-chat"));
}
