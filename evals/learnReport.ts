import { mkdir } from "node:fs/promises";
import path from "node:path";
import { escapeHtml } from "../outputs/report.js";
import { writeFileAtomic } from "../outputs/write.js";
import type { LearnResult, LearnRun, LearnScores, LearningPoint } from "./learn.js";

/** The columns of the learning table and chart: the scores issue 6 tracks. */
const COLUMNS: { key: keyof Omit<LearnScores, "runs">; label: string; short: string; colour: string }[] = [
  { key: "onsetExact", label: "onset exact", short: "exact", colour: "#1f77b4" },
  { key: "onsetWithin1", label: "onset ±1", short: "±1", colour: "#17becf" },
  { key: "onsetWithin3", label: "onset ±3", short: "±3", colour: "#2ca02c" },
  { key: "incorrectF1", label: "incorrect F1", short: "incF1", colour: "#d62728" },
  { key: "unusefulF1", label: "unuseful F1", short: "unuF1", colour: "#9467bd" },
  { key: "categoryAccuracy", label: "category acc.", short: "cat", colour: "#ff7f0e" },
];

const pct = (value: number | null) => (value === null ? "-" : (value * 100).toFixed(1));
/** A difference in points, rounded first so that float noise never prints as "-0.0". */
const signed = (value: number) => {
  const points = Math.round(value * 1000) / 10;
  return `${points >= 0 ? "+" : ""}${(points === 0 ? 0 : points).toFixed(1)}`;
};

function pointName(point: LearningPoint): string {
  return point.share === 0 ? "cold (empty memory)" : `warm, ${Math.round(point.share * 100)}% of other folds`;
}

/** The text table: cold, each warm point of the curve, and warm − cold. */
export function formatLearnTable(result: LearnResult): string {
  const width = 32;
  const cell = (text: string) => text.padStart(9);
  const header = ["".padEnd(width), cell("cases"), ...COLUMNS.map((column) => cell(column.short))].join("");
  const row = (point: LearningPoint) => [pointName(point).padEnd(width), cell(point.remembered.toFixed(1)), ...COLUMNS.map((column) => cell(pct(point.scores[column.key])))].join("");
  const delta = [
    "warm − cold".padEnd(width),
    cell(""),
    ...COLUMNS.map((column) => {
      const cold = result.cold[column.key];
      const warm = result.warm[column.key];
      return cell(cold === null || warm === null ? "-" : signed(warm - cold));
    }),
  ].join("");
  const changed = result.perRun.filter((run) => run.cold.onset !== run.warm.onset || run.cold.category !== run.warm.category);
  const recalibrated = result.perRun.filter((run) => stepChanges(run) !== "");
  const lines = [
    `learning from memory: ${result.folds} folds over ${result.runs} labelled runs (${result.manifests.map((file) => path.basename(file)).join(" + ")})`,
    "folds: runs ranked by SHA-256 of their id, rank r in fold r mod k; each fold diagnosed with an empty memory (cold)",
    "and after importing the labels of a growing share of the other folds as confirmed cases (warm); scores in %",
    header,
    ...result.curve.map(row),
    delta,
    `runs whose onset or category changed with full memory: ${changed.length}/${result.perRun.length}`,
    ...changed.slice(0, 20).map((run) => `  ${run.id.slice(0, 48).padEnd(48)} onset ${run.cold.onset ?? "-"} → ${run.warm.onset ?? "-"} (gold ${run.gold.onset ?? "-"}), category ${run.cold.category ?? "-"} → ${run.warm.category ?? "-"} (gold ${run.gold.category ?? "-"})`),
    `runs whose incorrect or unuseful steps memory recalibrated: ${recalibrated.length}/${result.perRun.length} (steps marked ✓ agree with the gold label)`,
    ...recalibrated.slice(0, 20).map((run) => `  ${run.id.slice(0, 48).padEnd(48)} ${stepChanges(run)}`),
    ...result.importErrors.map((error) => `  not remembered (fold ${error.fold + 1}): ${error.id}: ${error.error}`),
    ...transferLines(result, width, cell),
  ];
  return lines.join("\n");
}

const setName = (file: string) => path.basename(file).replace(/\.jsonl$/i, "");

/** Cross-set rows: each manifest diagnosed cold, and after remembering all of another one. */
function transferLines(result: LearnResult, width: number, cell: (text: string) => string): string[] {
  if (result.transfer.length === 0) return [];
  const row = (name: string, remembered: string, scores: LearnScores) => [name.padEnd(width), cell(remembered), ...COLUMNS.map((column) => cell(pct(scores[column.key])))].join("");
  return [
    "what transfers between label sets (all of one remembered, the other diagnosed):",
    ...result.transfer.flatMap((entry) => [
      row(`${setName(entry.to)} cold`.slice(0, width - 1), "0", entry.cold),
      row(`  after ${setName(entry.from)}`.slice(0, width - 1), String(entry.remembered), entry.warm),
    ]),
  ];
}

/** What memory changed in a run's step labels, e.g. "incorrect −14 −18✓ unuseful +14". */
export function stepChanges(run: LearnRun): string {
  const diff = (label: string, cold: number[], warm: number[], gold: number[]) => {
    const added = warm.filter((id) => !cold.includes(id)).map((id) => `+${id}${gold.includes(id) ? "✓" : ""}`);
    const removed = cold.filter((id) => !warm.includes(id)).map((id) => `−${id}${gold.includes(id) ? "" : "✓"}`);
    const all = [...added, ...removed];
    return all.length ? `${label} ${all.slice(0, 10).join(" ")}${all.length > 10 ? ` (+${all.length - 10} more)` : ""}` : "";
  };
  return [diff("incorrect", run.cold.incorrect, run.warm.incorrect, run.gold.incorrect), diff("unuseful", run.cold.unuseful, run.warm.unuseful, run.gold.unuseful)].filter(Boolean).join("; ");
}

/** The learning section of the eval page: the table and the curve as an inline SVG chart. */
export function renderLearnSection(result: LearnResult): string {
  const rows = result.curve
    .map((point) => `<tr${point.share === 0 ? "" : point === result.curve.at(-1) ? ` class="system"` : ""}><td>${escapeHtml(pointName(point))}</td><td>${point.remembered.toFixed(1)}</td>${COLUMNS.map((column) => `<td>${pct(point.scores[column.key])}</td>`).join("")}</tr>`)
    .join("\n");
  const delta = COLUMNS.map((column) => {
    const cold = result.cold[column.key];
    const warm = result.warm[column.key];
    return `<td>${cold === null || warm === null ? "-" : signed(warm - cold)}</td>`;
  }).join("");
  return `<h2 id="learning">Learning from memory (${result.folds}-fold)</h2>
<p class="note">Each fold is diagnosed with an empty memory (cold), then after importing the labels of a growing share of the other folds as confirmed failure cases (warm). Folds: runs ranked by SHA-256 of their id, rank r in fold r mod ${result.folds}. Cases: confirmed cases in memory, averaged over folds.</p>
<table><tr><th></th><th>cases</th>${COLUMNS.map((column) => `<th>${escapeHtml(column.label)}</th>`).join("")}</tr>
${rows}
<tr><td>warm − cold</td><td></td>${delta}</tr></table>
${learningChart(result.curve)}${transferTable(result)}`;
}

/** The cross-set table of the eval page, when several label sets were pooled. */
function transferTable(result: LearnResult): string {
  if (result.transfer.length === 0) return "";
  const row = (name: string, remembered: number, scores: LearnScores) => `<tr><td>${escapeHtml(name)}</td><td>${remembered}</td>${COLUMNS.map((column) => `<td>${pct(scores[column.key])}</td>`).join("")}</tr>`;
  const rows = result.transfer.flatMap((entry) => [row(`${path.basename(entry.to)}, cold`, 0, entry.cold), row(`${path.basename(entry.to)} after remembering ${path.basename(entry.from)}`, entry.remembered, entry.warm)]);
  return `
<h3>What transfers between label sets</h3>
<p class="note">Each label set diagnosed with an empty memory, and after remembering every labelled run of the other one.</p>
<table><tr><th></th><th>cases</th>${COLUMNS.map((column) => `<th>${escapeHtml(column.label)}</th>`).join("")}</tr>
${rows.join("\n")}</table>`;
}

/** Score (%) against remembered cases, one line per score: a small self-contained SVG. */
export function learningChart(curve: LearningPoint[]): string {
  const size = { width: 560, height: 300, left: 48, right: 150, top: 16, bottom: 40 };
  const plotWidth = size.width - size.left - size.right;
  const plotHeight = size.height - size.top - size.bottom;
  const maxX = Math.max(1, ...curve.map((point) => point.remembered));
  const x = (value: number) => size.left + (value / maxX) * plotWidth;
  const y = (value: number) => size.top + (1 - value) * plotHeight;
  const grid = [0, 0.25, 0.5, 0.75, 1]
    .map((value) => `<line x1="${size.left}" x2="${size.left + plotWidth}" y1="${y(value)}" y2="${y(value)}" stroke="#e4e4e4"/><text x="${size.left - 6}" y="${y(value) + 4}" text-anchor="end" font-size="11">${value * 100}</text>`)
    .join("");
  const ticks = curve.map((point) => `<text x="${x(point.remembered)}" y="${size.top + plotHeight + 16}" text-anchor="middle" font-size="11">${point.remembered.toFixed(0)}</text>`).join("");
  const lines = COLUMNS.map((column, index) => {
    const points = curve.filter((point) => point.scores[column.key] !== null).map((point) => `${x(point.remembered).toFixed(1)},${y(point.scores[column.key]!).toFixed(1)}`);
    if (points.length === 0) return "";
    const legendY = size.top + 14 + index * 18;
    return `<polyline fill="none" stroke="${column.colour}" stroke-width="2" points="${points.join(" ")}"/>${points.map((point) => `<circle cx="${point.split(",")[0]}" cy="${point.split(",")[1]}" r="3" fill="${column.colour}"/>`).join("")}<line x1="${size.left + plotWidth + 14}" x2="${size.left + plotWidth + 34}" y1="${legendY - 4}" y2="${legendY - 4}" stroke="${column.colour}" stroke-width="2"/><text x="${size.left + plotWidth + 40}" y="${legendY}" font-size="11">${escapeHtml(column.label)}</text>`;
  }).join("\n");
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${size.width}" height="${size.height}" role="img" aria-label="learning curve: score against remembered cases">
<rect width="100%" height="100%" fill="#fff"/>${grid}${ticks}
<line x1="${size.left}" x2="${size.left}" y1="${size.top}" y2="${size.top + plotHeight}" stroke="#888"/><line x1="${size.left}" x2="${size.left + plotWidth}" y1="${size.top + plotHeight}" y2="${size.top + plotHeight}" stroke="#888"/>
<text x="${size.left + plotWidth / 2}" y="${size.height - 6}" text-anchor="middle" font-size="12">confirmed cases remembered</text>
<text x="12" y="${size.top + plotHeight / 2}" text-anchor="middle" font-size="12" transform="rotate(-90 12 ${size.top + plotHeight / 2})">score (%)</text>
${lines}
</svg>`;
}

/** Put the learning section into an eval page (before its end), and write it. */
export async function writeLearnReport(file: string, evalPage: string, result: LearnResult): Promise<void> {
  await mkdir(path.dirname(path.resolve(file)), { recursive: true });
  const section = renderLearnSection(result);
  const page = evalPage.includes("</body>") ? evalPage.replace("</body>", `${section}\n</body>`) : `${evalPage}${section}`;
  await writeFileAtomic(file, page);
}
