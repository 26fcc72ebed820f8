import { z } from "zod";

/** Where a step came from in the raw run: a JSON Pointer into a JSON document or a 1-based line. */
export const SourceRef = z.object({
  path: z.string().min(1),
  pointer: z.string().startsWith("/").or(z.literal("")).optional(),
  line: z.number().int().min(1).optional(),
});
export type SourceRef = z.infer<typeof SourceRef>;

export const StepKind = z.enum(["explore", "change", "verify", "message", "other"]);
export type StepKind = z.infer<typeof StepKind>;

export const ToolCall = z.object({
  name: z.string(),
  /** The tool-call id exactly as the log wrote it (e.g. Claude's `toolu_…`). */
  id: z.string().optional(),
  args: z.unknown().optional(),
  /** The shell command, for shell-like tools. */
  command: z.string().optional(),
});
export type ToolCall = z.infer<typeof ToolCall>;

export const Observation = z.object({
  text: z.string(),
  exit_code: z.number().int().nullable().optional(),
  is_error: z.boolean().optional(),
});
export type Observation = z.infer<typeof Observation>;

export const TokenUsage = z.object({
  prompt: z.number().optional(),
  completion: z.number().optional(),
  cached: z.number().optional(),
});
export type TokenUsage = z.infer<typeof TokenUsage>;

export const Step = z.object({
  id: z.number().int().min(1),
  kind: StepKind,
  actor: z.string(),
  text: z.string().optional(),
  thought: z.string().optional(),
  tool: ToolCall.optional(),
  observation: Observation.optional(),
  timestamp: z.string().optional(),
  tokens: TokenUsage.optional(),
  parallel_group: z.union([z.string(), z.number()]).optional(),
  /** Every raw record the step was built from, the action record first. */
  sources: z.array(SourceRef).min(1),
});
export type Step = z.infer<typeof Step>;
