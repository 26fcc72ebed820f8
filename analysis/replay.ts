import type { Diagnosis, Evidence } from "../schema/diagnosis.js";
import type { ReplayPlan } from "../schema/replay.js";
import type { Step } from "../schema/step.js";
import type { Outcome } from "../schema/trace.js";
import { failingChecksOf, whyCheckFailed, type FailingCheck } from "./checks.js";
import { isErrorStep } from "./progress.js";
import { isAgent } from "./provenance.js";

/** What to do instead, for each kind of evidence against the onset (generic, never run-specific). */
const ADVICE: Record<string, string> = {
  malformed_call: "Send every command and file exactly as intended: nothing before the command (no leading `:`, `>`, `,` or braces), no tool-call markup in arguments, and no stray first line in files. After each call, check from its output that it really ran.",
  missing_dependency: "Install every package the solution imports with a well-formed command, and confirm it imports before relying on it.",
  workaround_fabrication: "Do not replace the real resource with mock, simulated or sample data. Find out why it failed (network, proxy, permissions, a different source or client) and fix that; if it truly cannot be reached, say so plainly instead of producing a stand-in.",
  interactive_misuse: "Do not start interactive programs (editors, pagers, REPLs) through the shell tool: write files with the file tool or with non-interactive commands.",
  session_bound_service: "Start long-running services detached from your session (e.g. `nohup … &` or `setsid`), then check them from a fresh shell so they outlive the session.",
  target_origin: "Before writing the result, re-read what the task and its checks require; then run the result on a realistic input and compare with what is expected before moving on.",
  first_implementation: "Before implementing, re-read what the task requires; then run what you wrote on a realistic input and verify the output before moving on.",
  derailment_start: "Keep going until the required result exists and has been checked; if calls stop producing output, look at how they are sent before retrying the same thing.",
  unverified_completion: "Before declaring completion, run the checks the task implies and confirm the required outputs exist and are correct.",
  empty_turn: "Do not end your turn before the required outputs exist.",
};

/**
 * Resume from the last good state before the onset: the environment as the state-changing steps up to
 * there left it, the conversation up to there, guidance built from the evidence, and the budget the
 * original run spent from the onset on. Nothing is executed.
 */
export function planReplay(runPath: string, steps: Step[], diagnosis: Diagnosis, outcome?: Outcome, checks?: FailingCheck[]): ReplayPlan {
  const onsetId = diagnosis.onset?.step_id ?? null;
  if (onsetId === null || diagnosis.failed === false) {
    return {
      run: runPath,
      resumable: false,
      onset_step_id: null,
      resume_after_step_id: null,
      restore: { change_step_ids: [], description: "Nothing to replay: no failure onset was found." },
      guidance: diagnosis.failed === false ? "The run passed; there is nothing to correct." : "No onset could be localized; re-run from the start, checking each result before moving on.",
      budget: { steps: 0 },
    };
  }
  const breakpoint = breakpointBefore(steps, onsetId);
  const restore = steps.filter((step) => step.id <= breakpoint && step.kind === "change" && !isErrorStep(step)).map((step) => step.id);
  const spent = steps.filter((step) => step.id >= onsetId && isAgent(step));
  const tokens = spent.reduce((sum, step) => sum + (step.tokens?.prompt ?? 0) + (step.tokens?.completion ?? 0), 0);
  return {
    run: runPath,
    resumable: true,
    onset_step_id: onsetId,
    resume_after_step_id: breakpoint,
    restore: {
      change_step_ids: restore,
      description: restore.length === 0
        ? "No state-changing step precedes the breakpoint: start from the task's initial environment."
        : `Re-apply the ${restore.length} state-changing step(s) up to step ${breakpoint} (${restore.join(", ")}), or restore a snapshot taken there.`,
    },
    guidance: guidanceText(diagnosis, onsetId, checks ?? failingChecksOf(outcome)),
    budget: { steps: spent.length, ...(tokens > 0 ? { tokens } : {}) },
  };
}

/**
 * The last good state: just before the onset, and before the agent's own messages that announced
 * the wrong move (a plan stated right before the onset belongs to it).
 */
export function breakpointBefore(steps: Step[], onsetId: number): number {
  let index = steps.findIndex((step) => step.id === onsetId) - 1;
  while (index >= 0 && isAgent(steps[index]!) && !steps[index]!.tool && index > 0) index -= 1;
  return index >= 0 ? steps[index]!.id : 0;
}

function guidanceText(diagnosis: Diagnosis, onsetId: number, checks: FailingCheck[]): string {
  // Memory evidence says how the diagnosis was reached, not what the agent did: it is no guidance.
  const evidence = diagnosis.evidence.filter((item) => !item.signal?.startsWith("memory_"));
  const atOnset = evidence.filter((item) => item.step_id === onsetId && item.signal !== "error_observation");
  const later = evidence.filter((item) => diagnosis.error_chain.includes(item.step_id) && item.step_id !== onsetId && item.signal !== "target_write").slice(0, 5);
  const summary = diagnosis.onset?.summary.replace(/^Step \d+: /, "") ?? "see below";
  const failing = checks.slice(0, 6).map((check) => `- ${check.name}${whyCheckFailed(check) ? `: ${whyCheckFailed(check)}` : ""}`);
  return [
    `You are resuming a previous attempt at this task from just before the step where it went wrong (step ${onsetId}).`,
    `What went wrong there: ${summary}.`,
    ...atOnset.filter((item) => item.why !== summary).slice(0, 3).map((item) => `- ${item.why}`),
    ...(later.length ? ["What followed from it:", ...later.map((item) => `- step ${item.step_id}: ${item.why}`)] : []),
    ...(failing.length ? ["The attempt ended with these checks failing:", ...failing] : []),
    "What to do instead:",
    ...adviceFor(atOnset).map((line) => `- ${line}`),
  ].join("\n");
}

function adviceFor(evidence: Evidence[]): string[] {
  const lines = [...new Set(evidence.map((item) => ADVICE[item.signal ?? ""]).filter((line): line is string => !!line))];
  return lines.length > 0 ? lines : ["Re-check the assumption behind that step against the task and the environment before acting, and verify each result before moving on."];
}
