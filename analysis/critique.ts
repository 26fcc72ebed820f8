import type { Step } from "../schema/step.js";
import type { Outcome } from "../schema/trace.js";
import type { FailingCheck } from "./checks.js";
import { buildContext, collectSignals, type RunContext, type Signal } from "./evidence.js";
import type { Constraints, Proposal } from "./localize.js";
import { isAgent } from "./provenance.js";

export interface Verdict {
  accepted: boolean;
  objection?: string;
  /** What the localizer must respect next round when the proposal is sent back. */
  constraints?: Constraints;
}

export interface CritiqueInput {
  steps: Step[];
  outcome: Outcome | undefined;
  task?: string | undefined;
  checks?: FailingCheck[] | undefined;
}

/** Symptoms: the first visible sign that something already went wrong on the way to the checked result. */
const SYMPTOMS = new Set<Signal["signal"]>(["malformed_call", "missing_dependency", "workaround_fabrication", "interactive_misuse"]);

/**
 * The critic checks a proposal against the evidence, in four ways, and never invents an onset of its own:
 * the onset is an agent step; it does not come after an earlier fault on the path to the checked result;
 * the error chain reaches what the failing checks test (when they name anything the agent made);
 * no step called incorrect was shown right by a later successful check of the same file.
 */
export function critiqueProposal(proposal: Proposal, input: CritiqueInput, previous: Constraints = {}): Verdict {
  const onset = proposal.onset;
  if (!onset) return { accepted: true };
  const context = buildContext(input);
  const step = context.steps.find((candidate) => candidate.id === onset.step_id);
  if (!step || !isAgent(step)) return reject(`step ${onset.step_id} is not an agent step`, previous, { exclude: [onset.step_id] });

  const signals = collectSignals(context);
  const earlierFault = signals.find((signal) => SYMPTOMS.has(signal.signal) && signal.step_id < onset.step_id && context.provenance.lineage.has(signal.step_id));
  if (earlierFault) {
    return reject(`step ${earlierFault.step_id} already went wrong on the way to the checked result (${earlierFault.why}), before the proposed onset ${onset.step_id}`, previous, { notAfter: earlierFault.step_id });
  }

  const lineage = context.provenance.lineage;
  if (lineage.size > 0 && !proposal.error_chain.some((id) => lineage.has(id)) && !onsetExplainsMissingResult(context, onset.step_id)) {
    return reject(`the error chain from step ${onset.step_id} never reaches what the failing checks test (made at steps ${[...lineage.keys()].slice(0, 5).join(", ")})`, previous, { exclude: [onset.step_id] });
  }

  const vindicated = proposal.incorrect_step_ids.filter((id) => vindicatedLater(context, id));
  if (vindicated.includes(onset.step_id)) {
    return reject(`step ${onset.step_id} was followed by a successful check of the file it wrote, so it is not where the run went wrong`, previous, { exclude: [onset.step_id] });
  }
  if (vindicated.length > 0) {
    return reject(`steps ${vindicated.join(", ")} are contradicted by later successful checks of what they wrote`, previous, { notIncorrect: vindicated });
  }
  return { accepted: true };
}

function reject(objection: string, previous: Constraints, add: Constraints): Verdict {
  return {
    accepted: false,
    objection,
    constraints: {
      ...previous,
      ...(add.notAfter !== undefined ? { notAfter: Math.min(add.notAfter, previous.notAfter ?? Infinity) } : {}),
      exclude: [...(previous.exclude ?? []), ...(add.exclude ?? [])],
      notIncorrect: [...(previous.notIncorrect ?? []), ...(add.notIncorrect ?? [])],
    },
  };
}

/** A derailment or a garbled/misused call can explain a result that was never made, without touching it. */
function onsetExplainsMissingResult(context: RunContext, onsetId: number): boolean {
  return !context.provenance.touchedTargets || context.derailment?.start === onsetId;
}

/** A run of tests (a test runner or a test script), as opposed to merely running the program. */
const TEST_RUN = /\b(pytest|py\.test|unittest|jest|mocha|vitest|ctest|go test|cargo test|npm test|make (test|check))\b|(^|[\s/])test_[\w-]*\.(py|sh|js)\b|[\w-]+_test\.(py|go|js)\b/;

/**
 * A step that wrote a file is vindicated when a later test run that reads that same file succeeded
 * (and the file was not changed in between) while the run's failing checks do not name that file.
 * Merely running the program without errors proves nothing about its output.
 */
function vindicatedLater(context: RunContext, stepId: number): boolean {
  const index = context.steps.findIndex((step) => step.id === stepId);
  const written = context.facts[index]?.writes ?? [];
  if (index < 0 || written.length === 0 || context.facts[index]!.malformed || context.provenance.lineage.has(stepId)) return false;
  for (let later = index + 1; later < context.steps.length; later += 1) {
    const fact = context.facts[later]!;
    if (fact.writes.some((file) => written.includes(file))) return false;
    const command = context.steps[later]!.tool?.command ?? "";
    if (fact.kind === "verify" && context.outcomes[later]!.progress && TEST_RUN.test(command) && fact.reads.some((file) => written.includes(file))) return true;
  }
  return false;
}
