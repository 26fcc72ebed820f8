import type { Step } from "../schema/step.js";
import type { Outcome } from "../schema/trace.js";
import type { StepFacts } from "./classify.js";

export type SignalKind = "malformed_call" | "error_observation" | "failing_check_link" | "repeated_call";

/** One piece of evidence against one step. */
export interface Signal {
  step_id: number;
  signal: SignalKind;
  why: string;
}

/** Everything the trace itself says is suspicious, step by step, in step order. */
export function collectSignals(steps: Step[], facts: StepFacts[], outcome: Outcome | undefined): Signal[] {
  const signals: Signal[] = [];
  const seenCalls = new Map<string, number>();
  const checkedPaths = failingCheckPaths(outcome);
  steps.forEach((step, index) => {
    const fact = facts[index]!;
    if (step.actor !== "agent" && step.actor !== "assistant") return;
    if (fact.malformed) signals.push({ step_id: step.id, signal: "malformed_call", why: `malformed call ${quote(step.tool?.command ?? JSON.stringify(step.tool?.args ?? ""))} does nothing` });
    if (step.observation && (step.observation.is_error || (step.observation.exit_code ?? 0) !== 0)) {
      signals.push({ step_id: step.id, signal: "error_observation", why: `error: ${quote(firstLine(step.observation.text))}` });
    }
    const linked = fact.writes.filter((path) => checkedPaths.some((checked) => samePath(checked, path)));
    if (linked.length > 0) signals.push({ step_id: step.id, signal: "failing_check_link", why: `changed ${linked.join(", ")}, which a failing check tests` });
    if (step.tool) {
      const key = `${step.tool.name}\u0000${step.tool.command ?? JSON.stringify(step.tool.args ?? null)}`;
      const earlier = seenCalls.get(key);
      if (earlier !== undefined) signals.push({ step_id: step.id, signal: "repeated_call", why: `repeats the identical call of step ${earlier}` });
      else seenCalls.set(key, step.id);
    }
  });
  return signals;
}

/** Paths named in the failing checks' names and traces (`/app/out.csv`, `solution.py`). */
export function failingCheckPaths(outcome: Outcome | undefined): string[] {
  if (!outcome || outcome.status !== "failed") return [];
  const paths = new Set<string>();
  for (const check of outcome.evidence) {
    const text = `${check.name}\n${check.detail ?? ""}`;
    for (const match of text.matchAll(/(?:\/[\w.-]+)+|\b[\w-]+\.(?:py|js|ts|c|cpp|h|rs|go|java|rb|R|sh|csv|json|txt|yaml|yml|toml|md|html|so|o|bin|out|log)\b/g)) {
      const path = match[0];
      if (!/^\/(tests?|usr|root\/\.cache|tmp\/pytest)/.test(path) && !/test_outputs?\.py$|^test_/.test(path.split("/").pop() ?? "")) paths.add(path);
    }
  }
  return [...paths];
}

function samePath(checked: string, written: string): boolean {
  if (checked === written) return true;
  const checkedBase = checked.split("/").pop();
  const writtenBase = written.split("/").pop();
  return !!checkedBase && checkedBase === writtenBase && checkedBase.includes(".");
}

export function firstLine(text: string, max = 120): string {
  const line = text.trim().split("\n")[0] ?? "";
  return line.length > max ? `${line.slice(0, max)}…` : line;
}

function quote(text: string, max = 80): string {
  const flat = text.replace(/\s+/g, " ").trim();
  return `\`${flat.length > max ? `${flat.slice(0, max)}…` : flat}\``;
}
