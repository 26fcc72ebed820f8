import type { EvalResult, Scores } from "./run.js";

const pct = (value: number) => `${(value * 100).toFixed(1)}`.padStart(6);

function row(name: string, scores: Scores): string {
  return [
    name.padEnd(20),
    pct(scores.onset.exact),
    ...Object.values(scores.onset.within).map(pct),
    pct(scores.incorrect.macro.precision),
    pct(scores.incorrect.macro.recall),
    pct(scores.incorrect.macro.f1),
    pct(scores.unuseful.macro.precision),
    pct(scores.unuseful.macro.recall),
    pct(scores.unuseful.macro.f1),
  ].join(" ");
}

/** The eval table: the system and every baseline side by side, percentages. */
export function formatEvalTable(result: EvalResult): string {
  const errors = result.runs.filter((run) => run.status === "error");
  const unresolved = result.runs.reduce((sum, run) => sum + run.unresolved, 0);
  const header = ["".padEnd(20), "exact", "±1", "±3", "±5", "inc P", "inc R", "inc F1", "unu P", "unu R", "unu F1"].map((cell, index) => (index === 0 ? cell : cell.padStart(6))).join(" ");
  const lines = [
    `${result.manifest}: ${result.runs.length} runs, ${result.system.onset.runs} with an onset label${errors.length ? `, ${errors.length} failed to analyze` : ""}${unresolved ? `, ${unresolved} label refs named no step` : ""}`,
    `onset accuracy and step P/R/F1 (macro over runs), in %`,
    header,
    row("codetracer", result.system),
    ...Object.entries(result.baselines).map(([name, scores]) => row(name, scores)),
    `incorrect F1 micro: codetracer ${pct(result.system.incorrect.micro.f1).trim()}`,
  ];
  for (const run of errors) lines.push(`  error ${run.id}: ${run.error}`);
  return lines.join("\n");
}
