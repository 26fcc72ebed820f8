import type { Analysis } from "../graphs/analyze.js";
import type { Step } from "../schema/step.js";
import type { Stage } from "../schema/trace.js";
import { evidenceWeight, rankedSuspects, SIGNAL_LABELS } from "./evidenceText.js";

/** Texts longer than this are cut in the page (the full text stays in trace.json)… */
const MAX_SHOWN_CHARS = 8000;
/** …and shorter still in very long runs, so the page stays a page a browser can open. */
const LONG_RUN_STEPS = 1000;
const MAX_SHOWN_CHARS_LONG_RUN = 1500;

const KIND_COLOURS: Record<Step["kind"], string> = {
  explore: "#6b9bd1", change: "#e0a030", verify: "#5cb85c", message: "#b0b0b0", other: "#8d7fc4",
};

/** HTML-escape untrusted trajectory text: nothing in a log may become markup or script. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (char) => `&#${char.charCodeAt(0)};`);
}

function cutter(limit: number): (text: string) => string {
  return (text) => (text.length > limit ? `${text.slice(0, limit)}\n… [${text.length - limit} more characters in trace.json]` : text);
}

/**
 * A tool call's arguments as a person reads them: short values as `key: value`, and multi-line text
 * (a file's content, an edit's old and new string) as the text itself rather than an escaped string.
 */
function actionText(args: unknown): string {
  if (typeof args !== "object" || args === null || Array.isArray(args)) return JSON.stringify(args ?? {}, null, 2);
  return Object.entries(args)
    .map(([key, value]) => (typeof value === "string" && value.includes("\n") ? `${key}:\n${value}` : `${key}: ${typeof value === "string" ? value : JSON.stringify(value)}`))
    .join("\n");
}

function sourceText(step: Step): string {
  return step.sources.map((source) => `${source.path}${source.pointer !== undefined ? `#${source.pointer}` : ""}${source.line ? `:${source.line}` : ""}`).join(", ");
}

/** One evidence item: its kind in plain words, what it says, and how much it counts toward the onset. */
function evidenceLine(item: { why: string; signal?: string | undefined }): string {
  const weight = evidenceWeight(item);
  const label = SIGNAL_LABELS[item.signal ?? ""] ?? item.signal;
  return `<p class="why">⚠ ${label ? `<b>${escapeHtml(label)}</b>${weight ? ` <span class="weight">(+${weight})</span>` : ""}: ` : ""}${escapeHtml(item.why)}</p>`;
}

/** One self-contained page: summary, a step strip, and the stage → step tree with every detail. */
export function renderReport(analysis: Analysis): string {
  return [...reportChunks(analysis)].join("");
}

/**
 * The page in pieces, a step at a time, so a run of thousands of steps is written without ever
 * holding the whole page as one string (outputs/write.ts streams the chunks to disk).
 */
export function* reportChunks({ trace, diagnosis, replay }: Analysis): Iterable<string> {
  const chain = new Set(diagnosis.error_chain);
  const incorrect = new Set(diagnosis.incorrect_step_ids);
  const unuseful = new Set(diagnosis.unuseful_step_ids);
  const onset = diagnosis.onset?.step_id;
  const cut = cutter(trace.steps.length > LONG_RUN_STEPS ? MAX_SHOWN_CHARS_LONG_RUN : MAX_SHOWN_CHARS);
  const evidenceByStep = new Map<number, Analysis["diagnosis"]["evidence"]>();
  for (const item of diagnosis.evidence) evidenceByStep.set(item.step_id, [...(evidenceByStep.get(item.step_id) ?? []), item]);
  const evidenceFor = (id: number) => evidenceByStep.get(id) ?? [];
  const badges = (id: number) =>
    [
      id === onset ? `<span class="badge onset">onset</span>` : "",
      chain.has(id) && id !== onset ? `<span class="badge chain">error chain</span>` : "",
      incorrect.has(id) && id !== onset ? `<span class="badge incorrect">incorrect</span>` : "",
      unuseful.has(id) ? `<span class="badge unuseful">unuseful</span>` : "",
    ].join("");

  const stepHtml = (step: Step) => {
    const headline = step.tool ? `${step.tool.name}: ${step.tool.command ?? JSON.stringify(step.tool.args ?? {})}` : step.text ?? step.thought ?? "";
    const classes = ["step", step.id === onset ? "is-onset" : "", chain.has(step.id) ? "in-chain" : ""].join(" ");
    return `<details class="${classes}" id="step-${step.id}"${step.id === onset ? " open" : ""}>
<summary><span class="kind" style="background:${KIND_COLOURS[step.kind]}">${step.kind}</span> <b>${step.id}</b> <span class="actor">${escapeHtml(step.actor)}</span> ${badges(step.id)} <span class="headline">${escapeHtml(headline.replace(/\s+/g, " ").slice(0, 160))}</span></summary>
<div class="body">
${evidenceFor(step.id).map(evidenceLine).join("\n")}
${step.thought ? `<h4>Thought</h4><pre>${escapeHtml(cut(step.thought))}</pre>` : ""}
${step.text ? `<h4>Message</h4><pre>${escapeHtml(cut(step.text))}</pre>` : ""}
${step.tool ? `<h4>Action: ${escapeHtml(step.tool.name)}${step.tool.id ? ` <code>${escapeHtml(step.tool.id)}</code>` : ""}</h4><pre>${escapeHtml(cut(step.tool.command ?? actionText(step.tool.args)))}</pre>` : ""}
${step.observation ? `<h4>Observation${step.observation.is_error ? " (error)" : ""}${step.observation.exit_code != null ? ` exit ${step.observation.exit_code}` : ""}</h4><pre>${escapeHtml(cut(step.observation.text))}</pre>` : ""}
<p class="source">source: <code>${escapeHtml(sourceText(step))}</code>${step.timestamp ? ` · ${escapeHtml(step.timestamp)}` : ""}</p>
</div></details>`;
  };

  const suspects = rankedSuspects(diagnosis);
  const whyOnset = suspects.length
    ? `<p><b>Why this onset:</b> each piece of evidence counts toward calling its step the onset (weight in brackets); the best-scoring agent step wins, the earliest on a tie, and the critic checks it.</p><ul class="suspects">${suspects
        .map((suspect) => `<li><a href="#step-${suspect.step_id}">step ${suspect.step_id}</a> (${suspect.weight}${suspect.step_id === onset ? ", onset" : ""}): ${suspect.items.filter((item) => evidenceWeight(item) > 0).map((item) => escapeHtml(SIGNAL_LABELS[item.signal ?? ""] ?? item.signal ?? "evidence")).join(", ")}</li>`)
        .join("")}</ul>`
    : "";

  const stageSteps = (stage: Stage) => trace.steps.filter((step) => step.id >= stage.start_step_id && step.id <= stage.end_step_id);
  const stageOpen = (stage: Stage, steps: Step[]) => {
    const hot = steps.some((step) => chain.has(step.id) || step.id === onset);
    return `<details class="stage"${hot ? " open" : ""}><summary>Stage ${stage.id}: <b>${stage.label.replace("_", " ")}</b> · steps ${stage.start_step_id}–${stage.end_step_id}${hot ? ` <span class="badge chain">contains error</span>` : ""}</summary>\n`;
  };

  const strip = trace.steps
    .map((step) => `<a href="#step-${step.id}" title="step ${step.id}: ${step.kind}" class="cell${step.id === onset ? " onset-cell" : chain.has(step.id) ? " chain-cell" : ""}" style="background:${KIND_COLOURS[step.kind]}"></a>`)
    .join("");
  const outcome = trace.run.outcome;
  yield `<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">
<title>CodeTracer · ${escapeHtml(trace.run.path.split("/").pop() ?? "run")}</title>
<style>
body{font:14px/1.45 system-ui,sans-serif;margin:24px;color:#222;max-width:1200px}
h1{font-size:20px;margin:0 0 4px} h4{margin:8px 0 2px;font-size:13px}
pre{background:#f6f6f6;padding:8px;overflow:auto;max-height:360px;white-space:pre-wrap;word-break:break-word;font-size:12px}
.summary{border:1px solid #ddd;border-radius:6px;padding:12px 16px;margin:12px 0;background:#fcfcfc}
.strip{display:flex;flex-wrap:wrap;gap:2px;margin:8px 0 16px}.cell{width:10px;height:22px;display:block;border-radius:2px}
.onset-cell{outline:3px solid #d9342b;outline-offset:1px}.chain-cell{outline:2px solid #f08a84}
details.stage{border-left:4px solid #ccc;margin:8px 0;padding-left:8px} details.stage>summary{cursor:pointer;font-size:15px;padding:4px 0}
details.step{margin:2px 0 2px 12px;border-radius:4px} details.step>summary{cursor:pointer;padding:2px 4px;white-space:nowrap;overflow:hidden;text-overflow:ellipsis}
details.step.in-chain>summary{background:#fff0ef} details.step.is-onset>summary{background:#ffd9d6;font-weight:600}
.body{margin:0 0 8px 24px}.kind{color:#fff;border-radius:3px;padding:0 5px;font-size:11px}
.badge{border-radius:3px;padding:0 5px;font-size:11px;margin-left:4px;color:#fff}.onset{background:#d9342b}.chain{background:#f08a84}.incorrect{background:#c0392b}.unuseful{background:#999}
.actor{color:#777;font-size:12px}.headline{color:#444;font-family:ui-monospace,monospace;font-size:12px}.why{color:#a0281f;margin:4px 0}.weight{color:#777;font-size:12px}.suspects{margin:4px 0 8px 0}.source{color:#777;font-size:12px}
.legend span{display:inline-block;margin-right:10px;font-size:12px}.legend i{display:inline-block;width:10px;height:10px;margin-right:3px;border-radius:2px}
</style></head><body>
<h1>CodeTracer diagnosis</h1>
<div><code>${escapeHtml(trace.run.path)}</code> · ${escapeHtml(trace.run.format)} · ${trace.steps.length} steps · ${trace.stages.length} stages</div>
<div class="summary">
<p><b>Outcome:</b> ${escapeHtml(outcome?.status ?? "unknown")}${outcome?.evidence.length ? ` — ${outcome.evidence.slice(0, 5).map((item) => `<code>${escapeHtml(item.name)}</code> ${escapeHtml(item.status)}`).join(", ")}${outcome.evidence.length > 5 ? ` and ${outcome.evidence.length - 5} more` : ""}` : ""}</p>
${diagnosis.onset ? `<p><b>Onset:</b> <a href="#step-${diagnosis.onset.step_id}">step ${diagnosis.onset.step_id}</a> (stage ${diagnosis.onset.stage_id}, confidence ${diagnosis.onset.confidence.toFixed(2)}) — ${escapeHtml(diagnosis.onset.summary)}</p>` : `<p><b>Onset:</b> none found${diagnosis.failed === false ? " (the run passed)" : ""}</p>`}
<p><b>Category:</b> ${escapeHtml(diagnosis.failure_category)} · <b>Error chain:</b> ${diagnosis.error_chain.map((id) => `<a href="#step-${id}">${id}</a>`).join(" → ") || "—"}</p>
<p><b>Incorrect:</b> ${diagnosis.incorrect_step_ids.join(", ") || "—"} · <b>Unuseful:</b> ${diagnosis.unuseful_step_ids.join(", ") || "—"}</p>
${whyOnset}
${replay.resumable ? `<p><b>Replay:</b> resume after step ${replay.resume_after_step_id} with a budget of ${replay.budget.steps} steps (<code>replay.messages.json</code> holds the conversation up to there, in OpenAI chat format, with this guidance last).</p><pre>${escapeHtml(replay.guidance)}</pre>` : ""}
${memoryAndLlm(diagnosis)}
${diagnosis.critique?.length ? `<p><b>Critic:</b> ${diagnosis.critique.map((round) => `round ${round.round}: onset ${round.proposed_onset ?? "none"} ${round.accepted ? "accepted" : `rejected (${escapeHtml(round.objection ?? "")})`}`).join("; ")}</p>` : ""}
</div>
<div class="legend">${Object.entries(KIND_COLOURS).map(([kind, colour]) => `<span><i style="background:${colour}"></i>${kind}</span>`).join("")}<span>red outline: onset · pink: error chain</span></div>
<div class="strip">${strip}</div>
`;
  for (const stage of trace.stages) {
    const steps = stageSteps(stage);
    yield stageOpen(stage, steps);
    for (const step of steps) yield `${stepHtml(step)}\n`;
    yield "</details>\n";
  }
  yield "</body></html>\n";
}

/** What else shaped the diagnosis: remembered failures it leaned on, the LLM's part, and anything that went wrong on the way. */
function memoryAndLlm(diagnosis: Analysis["diagnosis"]): string {
  const parts: string[] = [];
  if (diagnosis.cases_used?.length) {
    const cases = diagnosis.cases_used.map((entry) => `<li><code>${escapeHtml(entry.id)}</code> (${entry.role === "calibration" ? "calibration: same kind of agent" : `similarity ${entry.similarity.toFixed(2)}`})</li>`).join("");
    parts.push(`<p><b>Remembered failures used</b> (confirmed cases similar to this run, as priors${diagnosis.strategy === "llm" ? " and as examples for the LLM" : ""}):</p><ul class="suspects">${cases}</ul>`);
  }
  if (diagnosis.strategy === "llm") {
    const { llm_calls, prompt_tokens, completion_tokens } = diagnosis.cost;
    parts.push(`<p><b>LLM:</b> ${llm_calls} calls, ${prompt_tokens} prompt and ${completion_tokens} completion tokens.</p>`);
  }
  for (const fallback of diagnosis.llm_fallbacks ?? []) parts.push(`<p class="why">LLM fallback: ${escapeHtml(fallback)}</p>`);
  for (const warning of diagnosis.warnings ?? []) parts.push(`<p class="why">Warning: ${escapeHtml(warning)}</p>`);
  return parts.join("\n");
}
