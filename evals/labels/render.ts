/**
 * The text an annotator labels from (`PROTOCOL.md`): the task, every extracted step as
 * `=== step N (actor)` with its message, reasoning, tool call and observation (long texts cut and
 * marked `…[+N chars]`), then the verifier's test results. This is how the v2 labels in this folder
 * were made (evals/labels/README.md).
 *
 *   npx tsx evals/labels/render.ts <manifest.jsonl> <out-dir>     one <id>.txt per record
 */
import { mkdir, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { analyzeRun } from "../../graphs/analyze.js";
import type { Trace } from "../../schema/trace.js";
import { readManifest } from "../manifest.js";
import { safeKey } from "../run.js";

/** Cut to `limit` characters (code points, as the v2 labelling counted them), saying how many were left out. */
function cut(text: string | undefined, limit: number): string {
  if (text === undefined) return "";
  const chars = [...text];
  return chars.length <= limit ? text : `${chars.slice(0, limit).join("")}…[+${chars.length - limit} chars]`;
}

/** Tool arguments as the v2 labelling showed them: JSON with a space after `,` and `:`. */
function spacedJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(spacedJson).join(", ")}]`;
  if (value !== null && typeof value === "object") return `{${Object.entries(value).map(([key, field]) => `${JSON.stringify(key)}: ${spacedJson(field)}`).join(", ")}}`;
  return JSON.stringify(value) ?? "null";
}

export function renderForAnnotation(id: string, trace: Trace): string {
  const { run } = trace;
  const lines = [`RUN ${id}`, `FORMAT ${run.format}`, "", "TASK (step 1 is the user giving this task):", cut(run.task, 6000), ""];
  for (const step of trace.steps) {
    lines.push(`=== step ${step.id} (${step.actor})`);
    const restatesTask = step.id === 1 && step.actor === "user" && step.text?.trim() === run.task?.trim();
    if (step.text && !restatesTask) lines.push(`MESSAGE: ${cut(step.text, 1500)}`);
    if (step.thought) lines.push(`REASONING: ${cut(step.thought, 800)}`);
    if (step.tool) lines.push(`TOOL CALL ${step.tool.name}: ${cut(typeof step.tool.args === "string" ? step.tool.args : spacedJson(step.tool.args), 1500)}`);
    if (step.observation) lines.push(`${step.observation.is_error ? "OBSERVATION (error)" : "OBSERVATION"}: ${cut(step.observation.text, 1000)}`);
    lines.push("");
  }
  lines.push(`=== VERIFIER TEST RESULTS: status ${run.outcome?.status ?? "None"}`);
  for (const check of run.outcome?.evidence ?? []) {
    lines.push(`- ${check.name}: ${check.status}`);
    if (check.detail) lines.push(cut(check.detail, 2500));
  }
  return lines.join("\n");
}

if (process.argv[1]?.endsWith("render.ts")) {
  const [manifest, out] = process.argv.slice(2);
  if (!manifest || !out) throw new Error("usage: npx tsx evals/labels/render.ts <manifest.jsonl> <out-dir>");
  await mkdir(out, { recursive: true });
  for (const record of await readManifest(manifest)) {
    const { trace } = await analyzeRun(record.absolutePath, { llm: "off", home: path.join(os.tmpdir(), "codetracer-render"), remember: false, builtin: true, recall: false });
    await writeFile(path.join(out, `${safeKey(record.id)}.txt`), renderForAnnotation(record.id, trace));
    console.log(`${record.id}: ${trace.steps.length} steps`);
  }
}
