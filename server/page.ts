import { FEEDBACK_CATEGORIES, type FeedbackResult } from "../memory/feedback.js";
import { escapeHtml } from "../outputs/report.js";
import { OUTPUT_FILES } from "../outputs/write.js";
import type { RunDetail, RunEntry } from "./results.js";

/**
 * The web UI: server-rendered pages, no script at all (forms post and redirect), so the pages work
 * under a strict Content-Security-Policy and every piece of run text is escaped once, here.
 */

const STYLE = `body{font:14px/1.45 system-ui,sans-serif;margin:24px;color:#222;max-width:1300px}
h1{font-size:20px;margin:0 0 4px}h2{font-size:16px;margin:20px 0 6px}
table{border-collapse:collapse;width:100%}th,td{text-align:left;padding:4px 8px;border-bottom:1px solid #eee;vertical-align:top;overflow-wrap:anywhere}td.summary{font-size:12px;color:#444;min-width:18em}
th{font-size:12px;color:#666;font-weight:600}td.num{text-align:right;font-variant-numeric:tabular-nums}
.muted{color:#777;font-size:12px}.error{color:#a0281f}.ok{color:#1d7a35}.box{border:1px solid #ddd;border-radius:6px;padding:10px 14px;margin:12px 0;background:#fcfcfc}
form.inline{display:flex;flex-wrap:wrap;gap:8px;align-items:end}form.inline label{display:flex;flex-direction:column;font-size:12px;color:#555}
input,select,button{font:inherit}input[type=text]{width:14em}button{padding:3px 12px}
iframe{width:100%;height:80vh;border:1px solid #ddd;border-radius:6px}code{font-size:12px}`;

function layout(title: string, body: string): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${escapeHtml(title)}</title><style>${STYLE}</style></head>
<body>${body}</body></html>`;
}

/**
 * Where each run went wrong, as a picture: the run's length as a bar and the onset as a red mark at
 * its place (a green bar for a run that passed), so a batch's early and late failures show at a glance.
 */
export function onsetBar(entry: RunEntry, width = 160): string {
  const onset = entry.diagnosis?.onset?.step_id;
  const passed = entry.diagnosis?.failed === false;
  const fill = entry.status === "error" ? "#e3b5b1" : passed ? "#9fd3a9" : "#ddd";
  const mark = onset && entry.steps > 0 ? Math.min(width - 3, Math.round(((onset - 1) / entry.steps) * width)) : undefined;
  const title = mark === undefined ? (passed ? "passed" : "no onset") : `onset at step ${onset} of ${entry.steps}`;
  return `<svg width="${width}" height="12" role="img" aria-label="${title}"><title>${title}</title><rect width="${width}" height="12" rx="2" fill="${fill}"/>${mark === undefined ? "" : `<rect x="${mark}" width="3" height="12" fill="#d9342b"/>`}</svg>`;
}

export function runListPage(view: { results: string; home: string; entries: RunEntry[]; runsRoot?: string; analyzable?: string[] }): string {
  const rows = view.entries.map((entry) => {
    const link = entry.status === "ok" && !entry.unreadable ? `<a href="/runs/${encodeURIComponent(entry.out)}">${escapeHtml(entry.run)}</a>` : escapeHtml(entry.run);
    const problem = entry.error ?? entry.unreadable;
    const onset = entry.diagnosis?.onset;
    return `<tr><td>${link}${problem ? `<div class="error">${escapeHtml(problem.slice(0, 300))}</div>` : ""}</td>
<td>${escapeHtml(entry.format)}</td><td class="num">${entry.steps}</td><td>${onsetBar(entry)}</td>
<td class="num">${onset ? onset.step_id : "—"}</td><td>${escapeHtml(entry.diagnosis?.failure_category ?? "")}</td>
<td class="num">${onset ? onset.confidence.toFixed(2) : ""}</td><td class="summary">${onset ? escapeHtml(onset.summary.slice(0, 140)) : ""}</td></tr>`;
  });
  const failed = view.entries.filter((entry) => entry.diagnosis?.onset).length;
  const byCategory = new Map<string, number>();
  for (const entry of view.entries) if (entry.diagnosis?.onset) byCategory.set(entry.diagnosis.failure_category, (byCategory.get(entry.diagnosis.failure_category) ?? 0) + 1);
  const categories = [...byCategory].sort((a, b) => b[1] - a[1]).map(([category, count]) => `${escapeHtml(category)} ${count}`).join(" · ");
  const errors = view.entries.filter((entry) => entry.status === "error" || entry.unreadable).length;
  return layout(
    "CodeTracer · runs",
    `<h1>CodeTracer</h1>
<p class="muted">results <code>${escapeHtml(view.results)}</code> · memory <code>${escapeHtml(view.home)}</code> · ${view.entries.length} runs, ${failed} with an onset, ${errors} unreadable</p>
${categories ? `<p class="muted">by failure category: ${categories}</p>` : ""}
${view.runsRoot ? analyzeForm(view.runsRoot, view.analyzable ?? []) : ""}
${view.entries.length === 0 ? `<p>No analyzed runs here yet. Write some with <code>codetracer batch &lt;runs&gt; --out ${escapeHtml(view.results)}</code>${view.runsRoot ? " or analyze one above" : ""}.</p>` : `<table>
<thead><tr><th>run</th><th>format</th><th>steps</th><th>where it went wrong</th><th>onset</th><th>category</th><th>confidence</th><th>summary</th></tr></thead>
<tbody>${rows.join("\n")}</tbody></table>`}`,
  );
}

function analyzeForm(runsRoot: string, analyzable: string[]): string {
  const options = analyzable.map((run) => `<option value="${escapeHtml(run)}"></option>`).join("");
  return `<form class="inline box" method="post" action="/analyze">
<label>analyze a run below <code>${escapeHtml(runsRoot)}</code><input type="text" name="run" list="runs" required style="width:32em"></label>
<datalist id="runs">${options}</datalist><button>Analyze</button></form>`;
}

export function runPage(detail: RunDetail, view: { feedback?: FeedbackResult; message?: string }): string {
  const { diagnosis, replay, run } = detail;
  const base = `/runs/${encodeURIComponent(detail.key)}`;
  const files = OUTPUT_FILES.map((file) => `<a href="/api/runs/${encodeURIComponent(detail.key)}/files/${file}">${file}</a>`).join(" · ");
  const onset = diagnosis.onset;
  return layout(
    `CodeTracer · ${run.path.split("/").pop() ?? "run"}`,
    `<p><a href="/">← all runs</a></p>
<h1>${escapeHtml(run.path)}</h1>
<p class="muted">${escapeHtml(run.format)} · ${detail.steps} steps · ${detail.stages.length} stages · outcome ${escapeHtml(run.outcome?.status ?? "unknown")} · ${files}</p>
<div class="box">
<p><b>Onset:</b> ${onset ? `step ${onset.step_id} (stage ${onset.stage_id}, confidence ${onset.confidence.toFixed(2)}) — ${escapeHtml(onset.summary)}` : `none found${diagnosis.failed === false ? " (the run passed)" : ""}`}</p>
<p><b>Category:</b> ${escapeHtml(diagnosis.failure_category)} · <b>error chain</b> ${diagnosis.error_chain.join(" → ") || "—"} · <b>incorrect</b> ${diagnosis.incorrect_step_ids.join(", ") || "—"} · <b>unuseful</b> ${diagnosis.unuseful_step_ids.join(", ") || "—"}</p>
${replay.resumable ? `<p><b>Replay:</b> resume after step ${replay.resume_after_step_id}, budget ${replay.budget.steps} steps</p>` : ""}
</div>
${view.feedback ? feedbackDone(view.feedback) : ""}${view.message ? `<p class="box error">${escapeHtml(view.message)}</p>` : ""}
${feedbackForm(base, detail)}
<iframe src="${base}/report.html" sandbox title="report"></iframe>`,
  );
}

function feedbackDone(result: FeedbackResult): string {
  const verdict = result.agrees ? "confirmed the onset" : `corrected the onset (the diagnosis said ${result.diagnosed_onset ?? "none"})`;
  return `<p class="box ok">Feedback recorded: ${verdict} at step ${result.onset}, ${escapeHtml(result.category)}. Memory now holds ${result.confirmed_cases} confirmed failure case${result.confirmed_cases === 1 ? "" : "s"}.</p>`;
}

/** Confirm or correct: prefilled with the diagnosis, so confirming is one click. */
function feedbackForm(base: string, { diagnosis }: RunDetail): string {
  const categories = FEEDBACK_CATEGORIES.map((category) => `<option${category === diagnosis.failure_category ? " selected" : ""}>${category}</option>`).join("");
  return `<form class="inline box" method="post" action="${base}/feedback">
<label>onset step<input type="number" name="onset" min="1" required value="${diagnosis.onset?.step_id ?? ""}" style="width:6em"></label>
<label>incorrect steps<input type="text" name="incorrect" value="${diagnosis.incorrect_step_ids.join(",")}" pattern="[0-9, ]*"></label>
<label>unuseful steps<input type="text" name="unuseful" value="${diagnosis.unuseful_step_ids.join(",")}" pattern="[0-9, ]*"></label>
<label>category<select name="category">${categories}</select></label>
<label>note<input type="text" name="note"></label>
<button>Confirm / correct</button></form>`;
}

export function errorPage(status: number, message: string): string {
  return layout(`CodeTracer · ${status}`, `<p><a href="/">← all runs</a></p><h1>${status}</h1><p class="error">${escapeHtml(message)}</p>`);
}
