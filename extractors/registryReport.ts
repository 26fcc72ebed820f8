import type { ExtractorRegistry, ParsedRun, SpecVersion, Trigger } from "./registry.js";

/**
 * `extractors report`: one self-contained HTML page (no scripts, no external files) showing, for each
 * extractor, its version timeline with what triggered each version, and a coverage chart (inline SVG)
 * over the runs it parsed. Every text that came from a spec or a run path is escaped.
 */

const TRIGGER_COLOURS: Record<Trigger, string> = {
  builtin: "#6b7280",
  unknown_format: "#2563eb",
  low_coverage: "#d97706",
  user_edit: "#7c3aed",
  llm_repair: "#059669",
};
const TRIGGER_TEXT: Record<Trigger, string> = {
  builtin: "shipped with CodeTracer",
  unknown_format: "a run of an unknown format",
  low_coverage: "the previous version read a run poorly",
  user_edit: "edited and imported by a user",
  llm_repair: "repaired by the LLM after validation",
};
const VERSION_COLOURS = ["#2563eb", "#d97706", "#059669", "#7c3aed", "#dc2626", "#0891b2", "#65a30d", "#db2777"];

function escape(text: string): string {
  return text.replace(/[&<>"']/g, (char) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[char]!);
}

export function extractorsReport(registry: ExtractorRegistry): string {
  const sections = registry.list().map((summary) => extractorSection(registry.versions(summary.extractor_id), registry.runs(summary.extractor_id)));
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>CodeTracer extractors</title>
<style>
body{font:14px/1.45 system-ui,sans-serif;margin:24px auto;max-width:1000px;color:#111827;padding:0 16px}
h1{font-size:22px}h2{font-size:17px;margin:28px 0 4px}section{border-top:1px solid #e5e7eb;padding-top:8px}
.muted{color:#6b7280}.timeline{display:flex;flex-wrap:wrap;gap:10px;margin:10px 0}
.version{border:1px solid #e5e7eb;border-left:5px solid var(--c);border-radius:6px;padding:6px 10px;min-width:180px}
.version b{font-size:15px}table{border-collapse:collapse;font-size:12px;margin-top:6px}td,th{padding:2px 8px;text-align:left;border-bottom:1px solid #f3f4f6}
.legend span{display:inline-block;margin-right:12px}.dot{display:inline-block;width:10px;height:10px;border-radius:50%;margin-right:4px;vertical-align:middle}
</style></head><body>
<h1>Extractors and how they evolved</h1>
<p class="muted">Every extractor spec in the registry: its versions (what triggered each), and how much of each run it parsed the spec covered
(share of the run's records that became the source of a step).</p>
<p class="legend">${(Object.keys(TRIGGER_COLOURS) as Trigger[]).map((trigger) => `<span><i class="dot" style="background:${TRIGGER_COLOURS[trigger]}"></i>${trigger}</span>`).join("")}</p>
${sections.join("\n") || "<p>No extractors registered yet.</p>"}
</body></html>
`;
}

function extractorSection(versions: SpecVersion[], runs: ParsedRun[]): string {
  const latest = versions[versions.length - 1]!;
  const timeline = versions.map(
    (version) => `<div class="version" style="--c:${TRIGGER_COLOURS[version.trigger]}"><b>v${version.version}</b> <span class="muted">${escape(version.created_at.slice(0, 19).replace("T", " "))}</span><br>
${escape(version.trigger)}${version.parent_version ? ` · from v${version.parent_version}` : ""}<br><span class="muted">${escape(TRIGGER_TEXT[version.trigger])}</span>
${version.metrics ? `<br>score ${version.metrics.score} · coverage ${version.metrics.coverage} · ${version.metrics.steps} steps` : ""}
<br>${runs.filter((run) => run.version === version.version).length} run(s) parsed</div>`,
  );
  return `<section><h2>${escape(latest.extractor_id)}</h2><div class="muted">${escape(latest.format)}</div>
<div class="timeline">${timeline.join("")}</div>
${coverageChart(versions, runs)}
${runsTable(runs)}</section>`;
}

/** Coverage of each parsed run, in the order parsed; a point's colour is the version that parsed it. */
function coverageChart(versions: SpecVersion[], runs: ParsedRun[]): string {
  if (runs.length === 0) return `<p class="muted">No runs parsed yet.</p>`;
  const width = 640;
  const height = 160;
  const pad = { left: 36, right: 12, top: 10, bottom: 24 };
  const x = (index: number) => pad.left + (runs.length === 1 ? (width - pad.left - pad.right) / 2 : (index * (width - pad.left - pad.right)) / (runs.length - 1));
  const y = (coverage: number) => pad.top + (1 - coverage) * (height - pad.top - pad.bottom);
  const colour = (version: number) => VERSION_COLOURS[(version - 1) % VERSION_COLOURS.length]!;
  const points = runs.map((run, index) => ({ run, cx: x(index), cy: y(run.coverage ?? 0) }));
  const line = points.map((point, index) => `${index === 0 ? "M" : "L"}${point.cx.toFixed(1)},${point.cy.toFixed(1)}`).join(" ");
  const grid = [0, 0.5, 1].map((value) => `<line x1="${pad.left}" x2="${width - pad.right}" y1="${y(value)}" y2="${y(value)}" stroke="#e5e7eb"/><text x="4" y="${y(value) + 4}" font-size="10" fill="#6b7280">${value.toFixed(1)}</text>`);
  const dots = points.map(
    ({ run, cx, cy }) => `<circle cx="${cx.toFixed(1)}" cy="${cy.toFixed(1)}" r="4" fill="${colour(run.version)}"${run.reused ? "" : ` stroke="#111827" stroke-width="1.5"`}><title>${escape(`v${run.version} · coverage ${run.coverage ?? "?"} · ${run.steps} steps · ${run.reused ? "reused" : "made for this run"} · ${run.run_path}`)}</title></circle>`,
  );
  const legend = versions.map((version) => `<span><i class="dot" style="background:${colour(version.version)}"></i>v${version.version}</span>`).join("");
  return `<svg role="img" aria-label="coverage per parsed run" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" xmlns="http://www.w3.org/2000/svg">
${grid.join("")}<path d="${line}" fill="none" stroke="#9ca3af" stroke-width="1"/>${dots.join("")}
<text x="${pad.left}" y="${height - 6}" font-size="10" fill="#6b7280">runs in the order parsed →  (outlined: the run the version was made for)</text></svg>
<div class="legend">${legend}</div>`;
}

function runsTable(runs: ParsedRun[]): string {
  if (runs.length === 0) return "";
  const rows = runs.slice(-50).map((run) => `<tr><td>v${run.version}</td><td>${escape(run.parsed_at.slice(0, 19).replace("T", " "))}</td><td>${run.reused ? `reused (${run.similarity ?? "?"})` : "made for it"}</td><td>${run.coverage ?? "-"}</td><td>${run.steps}</td><td>${run.changed ? "steps changed" : ""}</td><td>${escape(run.run_path)}</td></tr>`);
  return `<table><tr><th>version</th><th>parsed</th><th>how</th><th>coverage</th><th>steps</th><th></th><th>run</th></tr>${rows.join("")}</table>${runs.length > 50 ? `<p class="muted">(last 50 of ${runs.length} runs)</p>` : ""}`;
}
