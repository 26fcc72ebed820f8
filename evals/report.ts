import { mkdir } from "node:fs/promises";
import path from "node:path";
import { escapeHtml } from "../outputs/report.js";
import { writeFileAtomic } from "../outputs/write.js";
import type { EvalResult } from "./run.js";
import { scoreColumns, type GroupScores, type Scores } from "./score.js";

const pct = (value: number) => `${(value * 100).toFixed(1)}`;

/** The eval as one self-contained HTML page: results beside baselines, breakdowns, stages, category confusion, per-run detail. */
export function renderEvalReport(result: EvalResult): string {
  const errors = result.runs.filter((run) => run.status === "error");
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">
<title>CodeTracer eval · ${escapeHtml(path.basename(result.manifest))}</title>
<style>
body{font:14px/1.45 system-ui,sans-serif;margin:24px;color:#222;max-width:1200px}
h1{font-size:20px} h2{font-size:16px;margin-top:28px}
table{border-collapse:collapse;margin:8px 0} th,td{border:1px solid #ddd;padding:3px 8px;text-align:right} th{background:#f4f4f4}
td:first-child,th:first-child{text-align:left} tr.system td{font-weight:600;background:#eef6ee}
.cm td{min-width:28px;text-align:center} .diag{background:#cfe9cf} .hit{color:#1a7f37} .miss{color:#b3261e}
.note{color:#666;font-size:12px}
</style></head><body>
<h1>CodeTracer eval</h1>
<p><code>${escapeHtml(result.manifest)}</code> · ${result.runs.length} runs · ${result.system.onset.runs} with an onset label${errors.length ? ` · ${errors.length} failed to analyze` : ""}</p>
${result.system.onset.runs > 0 ? onsetTable(result) : ""}
${result.stages ? stageSection(result) : ""}
${groupTable("By format", result.byFormat)}
${groupTable("By gold failure category", result.byCategory)}
${result.categories ? confusionTable(result) : ""}
<h2>Replay bundles</h2><p>${result.replay.valid}/${result.replay.runs} runs have a valid <code>replay.json</code> and an OpenAI-format <code>replay.messages.json</code> ending with the guidance.</p>
${result.replay.problems.map((run) => `<p class="miss">${escapeHtml(run.id)}: ${escapeHtml(run.problems.join("; "))}</p>`).join("\n")}
${result.system.onset.runs > 0 ? runTable(result) : ""}
${errors.map((run) => `<p class="miss">error ${escapeHtml(run.id)}: ${escapeHtml(run.error ?? "")}</p>`).join("\n")}
</body></html>
`;
}

function scoreRow(name: string, scores: Scores, system = false): string {
  const cells = scoreColumns(scores).map(pct);
  return `<tr${system ? ' class="system"' : ""}><td>${escapeHtml(name)}</td>${cells.map((cell) => `<td>${cell}</td>`).join("")}</tr>`;
}

function onsetTable(result: EvalResult): string {
  return `<h2>Onset and step labels (%)</h2>
<table><tr><th></th><th>onset exact</th><th>±1</th><th>±3</th><th>±5</th><th>incorrect P</th><th>incorrect R</th><th>incorrect F1</th><th>incorrect F1 (micro)</th><th>unuseful F1</th><th>unuseful F1 (micro)</th></tr>
${scoreRow("codetracer", result.system, true)}
${Object.entries(result.baselines).map(([name, scores]) => scoreRow(name, scores)).join("\n")}
</table><p class="note">P/R/F1 are macro averages over runs unless marked micro. Baselines predict one onset and call only it incorrect.</p>`;
}

function stageSection(result: EvalResult): string {
  const stages = result.stages!;
  const projected = Object.entries(stages.projected).map(([unit, count]) => `${count} runs annotated in ${unit}`).join(", ");
  return `<h2>Stage boundaries (F1, %)</h2>
<table><tr><th></th><th>exact</th><th>±1 step</th></tr>
<tr class="system"><td>codetracer (${stages.runs} runs)</td><td>${pct(stages.exact.f1)}</td><td>${pct(stages.within1.f1)}</td></tr>
${projected ? `<tr><td>against gold numbers as annotated</td><td>${pct(stages.raw.exact.f1)}</td><td>${pct(stages.raw.within1.f1)}</td></tr>` : ""}
</table>${projected ? `<p class="note">Gold projected onto the extracted steps for ${escapeHtml(projected)}.</p>` : ""}`;
}

function groupTable(title: string, groups: Record<string, GroupScores>): string {
  const rows = Object.entries(groups);
  if (rows.length === 0) return "";
  return `<h2>${escapeHtml(title)}</h2>
<table><tr><th></th><th>runs</th><th>onset exact</th><th>±3</th><th>best baseline exact</th><th>best baseline</th><th>category accuracy</th></tr>
${rows
  .map(([name, group]) => `<tr><td>${escapeHtml(name)}</td><td>${group.runs}</td><td>${pct(group.system.exact)}</td><td>${pct(group.system.within["±3"] ?? 0)}</td><td>${pct(group.bestBaseline.exact)}</td><td>${escapeHtml(group.bestBaseline.name)}</td><td>${group.categoryAccuracy === undefined ? "-" : pct(group.categoryAccuracy)}</td></tr>`)
  .join("\n")}
</table>`;
}

function confusionTable(result: EvalResult): string {
  const { labels, counts } = result.categories!.confusion;
  const short = (label: string) => label.replace(/_/g, " ");
  return `<h2>Failure category confusion (rows: gold, columns: predicted)</h2>
<p>Accuracy ${pct(result.categories!.accuracy)}% over ${result.categories!.runs} runs; always answering the most common gold category (${escapeHtml(result.categories!.mostCommon.category)}) would score ${pct(result.categories!.mostCommon.accuracy)}%.</p>
<table class="cm"><tr><th></th>${labels.map((label) => `<th>${escapeHtml(short(label))}</th>`).join("")}</tr>
${labels
  .map((gold) => `<tr><td>${escapeHtml(short(gold))}</td>${labels.map((predicted) => {
    const count = counts[gold]![predicted]!;
    return `<td class="${gold === predicted && count > 0 ? "diag" : ""}">${count || ""}</td>`;
  }).join("")}</tr>`)
  .join("\n")}
</table>`;
}

function runTable(result: EvalResult): string {
  const labelled = result.runs.filter((run) => run.hasOnsetLabel);
  return `<h2>Runs</h2>
<table><tr><th>run</th><th>gold onset</th><th>predicted</th><th>gold category</th><th>predicted category</th></tr>
${labelled
  .map((run) => {
    const hit = run.predicted.onset !== null && run.predicted.onset === run.gold.onset;
    return `<tr><td>${escapeHtml(run.id)}</td><td>${run.gold.onset ?? "-"}</td><td class="${hit ? "hit" : "miss"}">${run.predicted.onset ?? "-"}</td><td>${escapeHtml(run.goldCategory ?? "-")}</td><td>${escapeHtml(run.predictedCategory ?? "-")}</td></tr>`;
  })
  .join("\n")}
</table>`;
}

export async function writeEvalReport(file: string, result: EvalResult): Promise<void> {
  await mkdir(path.dirname(path.resolve(file)), { recursive: true });
  await writeFileAtomic(file, renderEvalReport(result));
}
