import { z } from "zod";

export const FailureCategory = z.enum([
  "environment_setup",
  "dependency",
  "mislocalized_edit",
  "wrong_hypothesis_or_algorithm",
  "verification_misread_or_premature_completion",
  "unproductive_looping",
  "task_misunderstanding",
  "tool_misuse",
  "budget_or_timeout",
  "other",
  "none",
]);
export type FailureCategory = z.infer<typeof FailureCategory>;

export const Evidence = z.object({
  step_id: z.number().int().min(1),
  why: z.string(),
  /** Machine-readable kind of signal, e.g. "error_observation", "failing_check", "malformed_call". */
  signal: z.string().optional(),
});
export type Evidence = z.infer<typeof Evidence>;

export const Onset = z.object({
  step_id: z.number().int().min(1),
  stage_id: z.number().int().min(1),
  confidence: z.number().min(0).max(1),
  summary: z.string(),
});
export type Onset = z.infer<typeof Onset>;

/** One round of the localize ⇄ critique loop, kept so the report can show how the answer was reached. */
export const CritiqueRound = z.object({
  round: z.number().int().min(1),
  proposed_onset: z.number().int().nullable(),
  accepted: z.boolean(),
  objection: z.string().optional(),
});
export type CritiqueRound = z.infer<typeof CritiqueRound>;

export const Diagnosis = z.object({
  failed: z.boolean().nullable(),
  onset: Onset.nullable(),
  incorrect_step_ids: z.array(z.number().int()),
  unuseful_step_ids: z.array(z.number().int()),
  error_chain: z.array(z.number().int()),
  failure_category: FailureCategory,
  evidence: z.array(Evidence),
  strategy: z.enum(["offline", "llm"]),
  cost: z.object({
    llm_calls: z.number().int().min(0),
    prompt_tokens: z.number().int().min(0),
    completion_tokens: z.number().int().min(0),
    seconds: z.number().min(0),
  }),
  critique: z.array(CritiqueRound).optional(),
  /**
   * Remembered failure cases the diagnosis used: nearest confirmed cases (priors, LLM examples) by their
   * similarity, and with `role: "calibration"` the confirmed cases of the same kind of agent whose
   * annotators' conventions changed a step here (chosen by kind, not similarity: similarity 0).
   */
  cases_used: z.array(z.object({ id: z.string(), similarity: z.number(), role: z.literal("calibration").optional() })).optional(),
  /** LLM mode: each time an agent gave no usable answer and the offline result was kept (or repaired), and why. */
  llm_fallbacks: z.array(z.string()).optional(),
  /** Problems that did not stop the analysis (e.g. memory could not be read, so no priors were used). */
  warnings: z.array(z.string()).optional(),
});
export type Diagnosis = z.infer<typeof Diagnosis>;

/** CodeTraceBench label profile: one record per predicted stage. */
export const StageLabelRecord = z.object({
  stage_id: z.number().int().min(1),
  incorrect_step_ids: z.array(z.number().int()),
  unuseful_step_ids: z.array(z.number().int()),
  reasoning: z.string(),
});
export const Labels = z.array(StageLabelRecord);
export type Labels = z.infer<typeof Labels>;
