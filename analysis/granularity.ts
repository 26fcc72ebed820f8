import type { Step } from "../schema/step.js";
import { LEARNED_STAGE_LENGTHS } from "./stageLengths.js";

/**
 * How long a stage typically is, in steps, for one kind of run. Annotators cut stages at very
 * different granularity depending on the framework (a Terminus 2 episode holds many commands; a
 * mini-SWE-agent step is one command), so the expected length is learned per dialect from annotated
 * runs (analysis/stageLengths.ts, produced by `codetracer eval --learn-stage-lengths`).
 */
export function expectedStageLength(format: string, steps: Step[], table: Record<string, number> = LEARNED_STAGE_LENGTHS): number | undefined {
  const exact = table[dialectOf(format, steps)];
  if (exact !== undefined) return exact;
  const sameFormat = Object.entries(table).filter(([key]) => key.startsWith(`${format}|`)).map(([, length]) => length);
  if (sameFormat.length > 0) return median(sameFormat);
  return undefined;
}

/** A run's dialect: its format and the agent's shell tool (`bash`, `terminal`, `execute_bash`), "-" without one. */
export function dialectOf(format: string, steps: Step[]): string {
  const counts = new Map<string, number>();
  for (const step of steps) {
    if (step.tool?.command === undefined || (step.actor !== "agent" && step.actor !== "assistant")) continue;
    const name = step.tool.name.toLowerCase();
    counts.set(name, (counts.get(name) ?? 0) + 1);
  }
  const dominant = [...counts].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))[0]?.[0] ?? "-";
  return `${format}|${dominant}`;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}
