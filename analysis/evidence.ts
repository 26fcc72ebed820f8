import type { Step } from "../schema/step.js";
import type { Outcome } from "../schema/trace.js";
import { stepFacts, type StepFacts } from "./classify.js";
import { failingChecksOf, missingModules, serviceUnreachable, type FailingCheck } from "./checks.js";
import { derailment, stepOutcomes, type Derailment, type StepOutcome } from "./progress.js";
import { isAgent, provenance, type Provenance } from "./provenance.js";
import { basename, normalizePath, targetsOf, type Targets } from "./targets.js";
import { behaviourSignals } from "./behaviour.js";
import { callText, firstLine, quote } from "./text.js";

export type SignalKind =
  | "malformed_call"
  | "error_observation"
  | "unfinished_call"
  | "empty_turn"
  | "target_origin"
  | "target_write"
  | "first_implementation"
  | "missing_dependency"
  | "workaround_fabrication"
  | "interactive_misuse"
  | "session_bound_service"
  | "derailment_start"
  | "repeated_call"
  | "overwritten_edit"
  | "reverted_edit"
  | "unverified_completion"
  | "unused_artifact"
  | "fruitless_call";

/** One piece of evidence about one step. */
export interface Signal {
  step_id: number;
  signal: SignalKind;
  why: string;
}

/** Everything the localizer knows about a run, computed once. */
export interface RunContext {
  steps: Step[];
  facts: StepFacts[];
  outcomes: StepOutcome[];
  failed: boolean | null;
  checks: FailingCheck[];
  targets: Targets;
  provenance: Provenance;
  derailment: Derailment | undefined;
  missingModules: string[];
  serviceDown: boolean;
}

export interface ContextInput {
  steps: Step[];
  outcome: Outcome | undefined;
  task?: string | undefined;
  /** Failing checks with their full reports (analysis/checks.ts); read from the outcome when absent. */
  checks?: FailingCheck[] | undefined;
}

export function buildContext({ steps, outcome, task, checks }: ContextInput): RunContext {
  const facts = steps.map(stepFacts);
  const outcomes = stepOutcomes(steps, facts);
  const failing = checks ?? failingChecksOf(outcome);
  const targets = targetsOf(task ?? firstUserText(steps), failing);
  return {
    steps,
    facts,
    outcomes,
    failed: outcome?.status === "failed" ? true : outcome?.status === "passed" ? false : null,
    checks: failing,
    targets,
    provenance: provenance(steps, facts, targets),
    derailment: derailment(steps, facts, outcomes),
    missingModules: missingModules(failing),
    serviceDown: serviceUnreachable(failing),
  };
}

function firstUserText(steps: Step[]): string | undefined {
  return steps.find((step) => step.actor === "user" && step.text)?.text;
}

/** Every signal the trace gives, in step order. */
export function collectSignals(context: RunContext): Signal[] {
  const signals: Signal[] = [...callSignals(context), ...lineageSignals(context), ...behaviourSignals(context)];
  const derailed = context.derailment;
  if (derailed) signals.push({ step_id: derailed.start, signal: "derailment_start", why: derailmentWhy(derailed, context) });
  return signals.sort((a, b) => a.step_id - b.step_id);
}

/** Per-call facts: garbled calls, errors, calls that never returned, empty turns. */
function callSignals({ steps, facts, outcomes }: RunContext): Signal[] {
  const signals: Signal[] = [];
  steps.forEach((step, index) => {
    if (!isAgent(step)) return;
    const fact = facts[index]!;
    const outcome = outcomes[index]!;
    if (fact.malformed) signals.push({ step_id: step.id, signal: "malformed_call", why: `${fact.malformedReason ?? "garbled call"}: ${quote(callText(step))}${fact.noEffect ? " did nothing" : ""}` });
    if (outcome.error) signals.push({ step_id: step.id, signal: "error_observation", why: `error: ${quote(firstLine(step.observation?.text ?? ""))}` });
    if (outcome.unfinished) signals.push({ step_id: step.id, signal: "unfinished_call", why: `${quote(callText(step))} never returned: the run ended during it` });
    if (outcome.empty) signals.push({ step_id: step.id, signal: "empty_turn", why: "the agent's turn is empty: it stopped without acting" });
  });
  return signals;
}

/** The making of what the checks test: its first step, and every later step that reworked it. */
function lineageSignals({ steps, provenance: made, facts }: RunContext): Signal[] {
  const ids = [...made.lineage.keys()].sort((a, b) => a - b);
  if (ids.length > 0) {
    const [first, ...rest] = ids;
    return [
      { step_id: first!, signal: "target_origin", why: `first step making what the checks test: ${made.lineage.get(first!)}` },
      ...rest.map((id) => ({ step_id: id, signal: "target_write" as const, why: made.lineage.get(id)! })),
    ];
  }
  // Nothing the agent made is named by the task or the checks: the first real implementation step stands in for it.
  // For an agent that acts through tools of its own rather than files, its first action stands in.
  const index = steps.findIndex((step, at) => isAgent(step) && facts[at]!.kind === "change" && facts[at]!.purpose === "implementation" && (facts[at]!.writes.some(isWorkspaceFile) || facts[at]!.acts !== undefined));
  if (index < 0) return [];
  const fact = facts[index]!;
  const what = fact.writes.some(isWorkspaceFile) ? `writes ${fact.writes.map(basename).join(", ")}` : `calls ${fact.acts} ${quote(callText(steps[index]!))}`;
  return [{ step_id: steps[index]!.id, signal: "first_implementation", why: `first implementation step: ${what}` }];
}

function isWorkspaceFile(file: string): boolean {
  const normalized = normalizePath(file);
  return !/^\/(tmp|dev|proc)\//.test(normalized) && !/(^|\/)(test_[^/]*|[^/]*_test)\.\w+$/.test(normalized);
}

function derailmentWhy(derailed: Derailment, { targets, provenance: made }: RunContext): string {
  const after = derailed.lastProgress !== undefined ? `after its last useful step (${derailed.lastProgress})` : "from the start";
  const what = {
    garbled: "the agent's calls are garbled",
    stalled: "no call makes progress",
    stopped: "the agent stops acting",
    cut_off: "the run is cut off mid-call",
  }[derailed.shape];
  const names = [...new Set(targets.paths.map(basename))].slice(0, 3);
  const never = !made.touchedTargets && names.length > 0 ? `; ${names.join(", ")} never got made` : "";
  return `${what} ${after} to the end of the run${never}`;
}

