import { Annotation } from "@langchain/langgraph";
import type { FailingCheck } from "../analysis/checks.js";
import type { Constraints, Proposal } from "../analysis/localize.js";
import type { CalibrationCase } from "../analysis/calibration.js";
import type { RecalledCase } from "../analysis/priors.js";
import { addCost, NO_COST, type LlmCost } from "../llm/agentLoop.js";
import type { ActiveSpec } from "../extractors/registry.js";
import type { RunFiles } from "../extractors/types.js";
import type { CritiqueRound, Diagnosis } from "../schema/diagnosis.js";
import type { ReplayPlan } from "../schema/replay.js";
import type { Step } from "../schema/step.js";
import type { RunInfo, Stage, TraceTree } from "../schema/trace.js";
import { resolveHome } from "../memory/store.js";
import { z } from "zod";

/** How one analysis is run: set by the caller, read by the nodes. */
export interface AnalyzeOptions {
  llm: "off" | "auto" | "on";
  /** Memory and registry directory (resolved --home). */
  home: string;
  /** Skip remembering the run (used by tests and dry runs). */
  remember: boolean;
  /** Use built-in extractors (false: only synthesized/registered ones). */
  builtin: boolean;
  /** Use confirmed past failures from the memory under `home` as priors (default true; eval turns it off unless given --home). */
  recall?: boolean;
}

export interface Fingerprint {
  /** File names with digits folded, sorted: the shape of the run directory. */
  files: string[];
  /** JSON key paths and discriminator values (extractors/fingerprint.ts). */
  keys?: string[];
  /** Shapes of the most common text lines. */
  lines?: string[];
}

export interface Validation {
  ok: boolean;
  problems: string[];
  /** Share of steps that carry an action or text (0..1). */
  coverage: number;
}

/** Bounds of the two loops in the graph. */
export const MAX_EVOLVE_ATTEMPTS = 2;
export const MAX_CRITIQUE_ROUNDS = 3;

/**
 * Options as a caller of the graph as a service (langgraph.json) may send them: any left out are what
 * the CLI uses by default (an LLM only when one is configured, $CODETRACER_HOME or ~/.codetracer,
 * remember the run, built-in extractors); a wrong type is refused with the field's name.
 */
export const AnalyzeOptionsInput = z.object({
  llm: z.enum(["off", "auto", "on"]).default("auto"),
  home: z.string().min(1).default(() => resolveHome()).transform((home) => resolveHome(home)),
  remember: z.boolean().default(true),
  builtin: z.boolean().default(true),
  recall: z.boolean().optional(),
}) satisfies z.ZodType<AnalyzeOptions, unknown>;

/** The diagnose graph's state: every node reads it and returns a partial update. */
export const DiagnoseState = Annotation.Root({
  /** The run the user named (a directory or a file). */
  input: Annotation<string>,
  options: Annotation<AnalyzeOptions>({ reducer: (current, given) => AnalyzeOptionsInput.parse({ ...current, ...given }), default: () => AnalyzeOptionsInput.parse({}) }),
  run: Annotation<RunFiles | undefined>,
  runFingerprint: Annotation<Fingerprint | undefined>,
  /** Chosen extractor, or undefined when no known format matches. */
  extractorId: Annotation<string | undefined>,
  evolveAttempts: Annotation<number>({ reducer: (_, next) => next, default: () => 0 }),
  /** The extractor spec in use when the extractor is a spec (registered, or synthesized for this run). */
  activeSpec: Annotation<ActiveSpec | undefined>,
  runInfo: Annotation<RunInfo | undefined>,
  steps: Annotation<Step[]>({ reducer: (_, next) => next, default: () => [] }),
  validation: Annotation<Validation | undefined>,
  stages: Annotation<Stage[]>({ reducer: (_, next) => next, default: () => [] }),
  tree: Annotation<TraceTree | undefined>,
  /** The run's failing checks with their full reports, read once by `localize` for it and the critic. */
  failingChecks: Annotation<FailingCheck[] | undefined>,
  proposal: Annotation<Proposal | undefined>,
  constraints: Annotation<Constraints>({ reducer: (_, next) => next, default: () => ({}) }),
  critiqueRounds: Annotation<CritiqueRound[]>({ reducer: (_, next) => next, default: () => [] }),
  /** Set by `critique` once a proposal is accepted (or the critique budget is spent). */
  diagnosis: Annotation<Diagnosis | undefined>,
  replay: Annotation<ReplayPlan | undefined>,
  startedAt: Annotation<number>({ reducer: (_, next) => next, default: () => Date.now() }),
  /** Memory's confirmed cases similar to this run: priors offline, few-shot examples for the LLM. */
  recall: Annotation<Recall | undefined>,
  /** Who made the current proposal: the LLM localizer, or the offline one (the default, or its fallback). */
  proposalBy: Annotation<"llm" | "offline">({ reducer: (_, next) => next, default: () => "offline" }),
  /** LLM cost accumulated over every localize and critique round. */
  llmCost: Annotation<LlmCost>({ reducer: addCost, default: () => NO_COST }),
  /** Each time an LLM agent's answer was not used as given, why (appended per round). */
  llmFallbacks: Annotation<string[]>({ reducer: (all, more) => [...all, ...more], default: () => [] }),
});

/** Confirmed past failures recalled for this run (once, by the first `localize`), and why none could be, if so. */
export interface Recall {
  cases: RecalledCase[];
  /** Confirmed cases to calibrate on (analysis/calibration.ts): chosen by kind of agent, not by similarity. */
  calibration?: CalibrationCase[];
  warning?: string;
}

export type DiagnoseStateType = typeof DiagnoseState.State;
export type DiagnoseUpdate = typeof DiagnoseState.Update;

/** Nodes read state fields that earlier nodes must have set; this says which one was missing. */
export function required<T>(value: T | undefined, what: string): T {
  if (value === undefined) throw new Error(`graph state is missing ${what}: a node ran out of order`);
  return value;
}
