import type { Constraints } from "../analysis/localize.js";
import type { Outcome, Stage } from "../schema/trace.js";
import type { TraceView } from "./traceTools.js";
import { oneLine, truncate, untrusted } from "./untrusted.js";

/** What the critic asks of the next proposal: the offline localizer's constraints, shared by both modes. */
export type CritiqueConstraints = Constraints;

/** The prompt sections shared by the localizer and the critic: short, and untrusted text delimited. */
/** The prompt values every agent gets about the run: task, size, stages, outcome, its tool budget. */
export function describeRun(trace: TraceView, maxToolRounds: number) {
  return {
    max_tool_rounds: maxToolRounds,
    task: describeTask(trace),
    step_count: trace.steps.length,
    stages: describeStages(trace.stages),
    outcome: describeOutcome(trace.outcome),
  };
}

export function describeTask(trace: TraceView): string {
  return trace.task ? untrusted(truncate(trace.task, 3_000)) : "(the run does not state its task)";
}

export function describeStages(stages: Stage[]): string {
  if (stages.length === 0) return "(no stages)";
  return stages.map((stage) => `stage ${stage.id} (${stage.label}): steps ${stage.start_step_id}–${stage.end_step_id}`).join("\n");
}

export function describeOutcome(outcome: Outcome | undefined): string {
  if (!outcome) return "unknown (no tests or reward were found)";
  const checks = outcome.evidence.slice(0, 10).map((check) => `${check.status}: ${oneLine(check.name, 160)}`);
  const more = outcome.evidence.length > 10 ? `\n(${outcome.evidence.length - 10} more checks; call failing_checks)` : "";
  return `${outcome.status}${checks.length > 0 ? `\n${untrusted(checks.join("\n"))}${more}` : ""}`;
}

export function describeConstraints(constraints: CritiqueConstraints | undefined): string {
  const parts = [
    ...(constraints?.exclude?.length ? [`the onset may not be step ${constraints.exclude.join(", ")}`] : []),
    ...(constraints?.notAfter !== undefined ? [`the onset must be at or before step ${constraints.notAfter}`] : []),
    ...(constraints?.notIncorrect?.length ? [`steps ${constraints.notIncorrect.join(", ")} were shown right and may not be called incorrect`] : []),
  ];
  return parts.length > 0 ? parts.join("; ") : "(none)";
}
