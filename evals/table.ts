import type { EvalResult } from "./run.js";
import { scoreColumns, type BoundaryScores, type GroupScores, type Scores, type StageScores } from "./score.js";

const pct = (value: number) => `${(value * 100).toFixed(1)}`.padStart(6);
const NAME_WIDTH = 26;

function row(name: string, scores: Scores): string {
  return [name.padEnd(NAME_WIDTH), ...scoreColumns(scores).map(pct)].join(" ");
}

function groupRow(name: string, group: GroupScores): string {
  return [
    name.slice(0, NAME_WIDTH).padEnd(NAME_WIDTH),
    String(group.runs).padStart(4),
    pct(group.system.exact),
    pct(group.system.within["±3"] ?? 0),
    pct(group.bestBaseline.exact),
    ` ${group.bestBaseline.name}`.padEnd(28),
    group.categoryAccuracy === undefined ? "     -" : pct(group.categoryAccuracy),
  ].join(" ");
}

/** The eval table: the system and every baseline side by side, then stages, breakdowns and replay checks. */
export function formatEvalTable(result: EvalResult): string {
  const errors = result.runs.filter((run) => run.status === "error");
  const unresolved = result.runs.reduce((sum, run) => sum + run.unresolved, 0);
  const header = ["".padEnd(NAME_WIDTH), "exact", "±1", "±3", "±5", "inc P", "inc R", "incF1", "incF1μ", "unuF1", "unuF1μ"].map((cell, index) => (index === 0 ? cell : cell.padStart(6))).join(" ");
  const lines = [
    `${result.manifest}: ${result.runs.length} runs, ${result.system.onset.runs} with an onset label${errors.length ? `, ${errors.length} failed to analyze` : ""}${unresolved ? `, ${unresolved} label refs named no step` : ""}`,
  ];
  if (result.system.onset.runs > 0) {
    lines.push(
      "onset accuracy, incorrect-step P/R/F1 (macro; μ = micro) and unuseful-step F1, in %",
      header,
      row("codetracer", result.system),
      ...Object.entries(result.baselines).map(([name, scores]) => row(name, scores)),
    );
  }
  if (result.stages) lines.push(...stageLines(result.stages));
  const groupHeader = `${"".padEnd(NAME_WIDTH)} runs  exact    ±3  best-baseline-exact            category-acc`;
  if (Object.keys(result.byFormat).length) lines.push("by format:", groupHeader, ...Object.entries(result.byFormat).map(([name, group]) => groupRow(name, group)));
  if (Object.keys(result.byCategory).length) lines.push("by gold failure category:", groupHeader, ...Object.entries(result.byCategory).map(([name, group]) => groupRow(name, group)));
  if (result.categories) {
    const { accuracy, runs, mostCommon } = result.categories;
    lines.push(`failure category accuracy: ${pct(accuracy).trim()}% over ${runs} runs (always the most common gold category, ${mostCommon.category}: ${pct(mostCommon.accuracy).trim()}%)`);
    const second = result.categories.secondAnnotator;
    if (second) lines.push(`second annotator's category agrees with the gold on ${pct(second.accuracy).trim()}% of the ${second.runs} runs both labelled`);
  }
  lines.push(`replay bundles valid: ${result.replay.valid}/${result.replay.runs}`);
  for (const run of result.replay.problems.slice(0, 5)) lines.push(`  replay ${run.id}: ${run.problems[0]}`);
  for (const run of errors) lines.push(`  error ${run.id}: ${run.error}`);
  return lines.join("\n");
}

const f1s = (scores: BoundaryScores) => `exact ${pct(scores.exact.f1).trim()}, ±1 ${pct(scores.within1.f1).trim()}`;

/** Stage boundary F1 beside the every-2-steps baseline: overall, out of sample, per framework, over all runs, as annotated. */
function stageLines(stages: StageScores): string[] {
  const { exact, within1, raw, projected, runs, everyTwo, twoFold, byGroup, all } = stages;
  const units = Object.entries(projected).map(([unit, count]) => `${count} annotated in ${unit}`).join(", ");
  const scope = all.unfit > 0 ? ` whose annotation fits their extracted steps` : "";
  const lines = [
    `stage boundary F1 over ${runs} runs${scope}: exact ${pct(exact.f1).trim()} (P ${pct(exact.precision).trim()}, R ${pct(exact.recall).trim()}), ±1 ${pct(within1.f1).trim()} (P ${pct(within1.precision).trim()}, R ${pct(within1.recall).trim()})${units ? ` — gold projected onto the extracted steps for ${units}` : ""}`,
    `  baseline, a boundary every 2 steps: ${f1s(everyTwo)}`,
  ];
  if (twoFold) lines.push(`  out of sample (two-fold: stage models learned on the other half of these runs): ${f1s(twoFold)}`);
  const groups = Object.entries(byGroup);
  if (groups.length > 1) {
    lines.push(`  ${"by framework".padEnd(NAME_WIDTH + 12)} runs  exact    ±1  every-2: exact    ±1`);
    for (const [name, group] of groups) {
      lines.push(`    ${name.slice(0, NAME_WIDTH + 10).padEnd(NAME_WIDTH + 10)} ${String(group.runs).padStart(4)} ${pct(group.system.exact.f1)} ${pct(group.system.within1.f1)}          ${pct(group.everyTwo.exact.f1)} ${pct(group.everyTwo.within1.f1)}`);
    }
  }
  if (all.unfit > 0) {
    lines.push(`  all ${all.runs} runs, with the ${all.unfit} whose annotation numbers steps their files do not hold: ${f1s(all.system)}; baseline ${f1s(all.everyTwo)}`);
  }
  if (units) lines.push(`  against the gold numbers as annotated (no projection): ${f1s(raw)}; baseline ${f1s(everyTwo.raw)}`);
  return lines;
}
