import { z } from "zod";
import { SourceRef, Step, StepKind } from "./step.js";

export const StageLabel = z.enum(["environment_setup", "inspection", "implementation", "verification", "finalization"]);
export type StageLabel = z.infer<typeof StageLabel>;

export const Stage = z.object({
  id: z.number().int().min(1),
  start_step_id: z.number().int().min(1),
  end_step_id: z.number().int().min(1),
  label: StageLabel,
});
export type Stage = z.infer<typeof Stage>;

/** A stage as annotated by people (e.g. CodeTraceBench `stage_ranges.json`); kept apart from predicted stages. */
export const ReferenceStage = z.object({
  start_step_id: z.number().int(),
  end_step_id: z.number().int(),
  label: z.string(),
});
export type ReferenceStage = z.infer<typeof ReferenceStage>;

/** One check that shows how the run ended (a test, a reward, an exit status). */
export const OutcomeEvidence = z.object({
  name: z.string(),
  status: z.string(),
  detail: z.string().optional(),
  source: SourceRef.optional(),
});
export type OutcomeEvidence = z.infer<typeof OutcomeEvidence>;

export const Outcome = z.object({
  status: z.enum(["passed", "failed", "unknown"]),
  evidence: z.array(OutcomeEvidence),
});
export type Outcome = z.infer<typeof Outcome>;

/** Records that could not be decoded: counted, with the first few locations. */
export const Warnings = z.object({
  count: z.number().int().min(0),
  first: z.array(z.object({ source: SourceRef, reason: z.string() })),
});
export type Warnings = z.infer<typeof Warnings>;

export const RunInfo = z.object({
  path: z.string(),
  format: z.string(),
  extractor: z.object({ id: z.string(), version: z.string() }),
  task: z.string().optional(),
  outcome: Outcome.optional(),
  warnings: Warnings.optional(),
  reference_stages: z.array(ReferenceStage).optional(),
});
export type RunInfo = z.infer<typeof RunInfo>;

export const ToolCallNode = z.object({ type: z.literal("tool_call"), name: z.string(), id: z.string().optional() });
export const StepNode = z.object({
  type: z.literal("step"),
  step_id: z.number().int(),
  kind: StepKind,
  /** Index of the environment state this step ran in; each change step opens a new one (as in the paper). */
  state: z.number().int().min(0),
  state_changing: z.boolean(),
  children: z.array(ToolCallNode),
});
export const StageNode = z.object({
  type: z.literal("stage"),
  stage_id: z.number().int(),
  label: StageLabel,
  children: z.array(StepNode),
});
export const TraceTree = z.object({ type: z.literal("run"), children: z.array(StageNode) });
export type TraceTree = z.infer<typeof TraceTree>;
export type StepNode = z.infer<typeof StepNode>;

export const Trace = z.object({
  run: RunInfo,
  steps: z.array(Step),
  stages: z.array(Stage),
  tree: TraceTree,
});
export type Trace = z.infer<typeof Trace>;
