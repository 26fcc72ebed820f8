import { existsSync } from "node:fs";
import { open } from "node:fs/promises";
import path from "node:path";
import { RunError } from "../schema/errors.js";
import type { Observation, Step } from "../schema/step.js";
import type { Outcome, OutcomeEvidence } from "../schema/trace.js";
import { absolute, isRecord, peek, readOptionalJson, WarningLog } from "./io.js";
import { openJsonDocument, pointerOf } from "./jsonStream.js";
import { assembleStep, timestampOf, tokensOfUsage, type ActionParts } from "./stepParts.js";
import type { Extractor, RunFiles } from "./types.js";
import { sweBenchReportOutcome } from "./verifiers.js";

/**
 * mini-SWE-agent `*.traj.json` (trajectory_format "mini-swe-agent-1"): `messages[]` of {role, content}.
 * One Step per assistant message: its one ```bash fence is the command, the next user message
 * (`<returncode>…</returncode><output>…</output>`) the observation. Outcome from a SWE-bench
 * harness `report.json` when one belongs to the run; `info.exit_status` alone is not a verdict.
 *
 * One run is the folder holding exactly one trajectory, either at its top or as `trajs/<id>/<id>.traj.json`
 * (the SWE-bench results layout, with `logs/<id>/report.json` beside it), or the trajectory file itself.
 */

/** A message of the trajectory, decoded. */
export interface MiniSweMessage {
  role: string;
  content: string;
  reasoning?: string;
  timestamp?: string;
  usage?: unknown;
}

/** mini-SWE-agent v1 executes an assistant turn only when it holds exactly one such fence. */
const BASH_FENCE = /```bash\s*\n([\s\S]*?)\n```/g;

/**
 * A message as an object, as its JSON text, or as a line-range cut of the trajectory file (the
 * CodeTracer normalized runs quote `line_start..line_end`, which often ends mid-object): the leading
 * `role`/`content` string fields are read even when the rest is cut. Some runs quote the bare content text.
 */
export function decodeMiniSweMessage(raw: unknown): MiniSweMessage | undefined {
  if (isRecord(raw)) return messageOf(raw);
  if (typeof raw !== "string") return undefined;
  const text = raw.trim().replace(/,$/, "");
  try {
    const parsed: unknown = JSON.parse(text);
    if (isRecord(parsed)) return messageOf(parsed);
  } catch {
    // a cut record: read its leading fields below
  }
  const role = jsonStringField(text, "role");
  const content = jsonStringField(text, "content");
  if (role !== undefined && content !== undefined) {
    const reasoning = jsonStringField(text, "reasoning_content") ?? jsonStringField(text, "reasoning");
    const timestamp = timestampOf(Number(/"timestamp":\s*([\d.]+)/.exec(text)?.[1]));
    return { role, content, ...(reasoning ? { reasoning } : {}), ...(timestamp ? { timestamp } : {}) };
  }
  // Bare message text: an observation, or an assistant turn with its bash fence.
  if (/^<returncode>/.test(text)) return { role: "user", content: text };
  if (/```bash\s*\n/.test(text)) return { role: "assistant", content: text };
  return undefined;
}

function messageOf(record: Record<string, unknown>): MiniSweMessage | undefined {
  if (typeof record.role !== "string") return undefined;
  const content = typeof record.content === "string" ? record.content : Array.isArray(record.content) ? record.content.map((part) => (isRecord(part) && typeof part.text === "string" ? part.text : "")).join("\n") : "";
  const response = isRecord(record.extra) && isRecord(record.extra.response) ? record.extra.response : undefined;
  const choice = Array.isArray(response?.choices) && isRecord(response.choices[0]) && isRecord(response.choices[0].message) ? response.choices[0].message : undefined;
  const reasoning = typeof choice?.reasoning_content === "string" ? choice.reasoning_content : typeof choice?.reasoning === "string" ? choice.reasoning : undefined;
  const timestamp = timestampOf(record.timestamp);
  return { role: record.role, content, ...(reasoning ? { reasoning } : {}), ...(timestamp ? { timestamp } : {}), ...(response?.usage ? { usage: response.usage } : {}) };
}

/** The value of the first `"key": "…"` string field in (possibly cut) JSON text. */
function jsonStringField(text: string, key: string): string | undefined {
  const match = new RegExp(`"${key}":\\s*("(?:[^"\\\\]|\\\\.)*")`).exec(text);
  if (!match) return undefined;
  try {
    return JSON.parse(match[1]!) as string;
  } catch {
    return undefined;
  }
}

/**
 * An assistant message as an action: the bash fence is the command, the prose around it the thought.
 * mini-SWE-agent runs a turn with exactly one fence; with several, some configurations ran the first
 * (the reply then carries its `<returncode>`), others answered with a format error and ran nothing.
 */
export function miniSweAction(message: MiniSweMessage, reply?: string): ActionParts {
  const fences = [...message.content.matchAll(BASH_FENCE)];
  const prose = message.content.replace(BASH_FENCE, "").trim();
  const parts: ActionParts = { actor: "agent", ...(message.timestamp ? { timestamp: message.timestamp } : {}) };
  const tokens = tokensOfUsage(message.usage);
  if (tokens) parts.tokens = tokens;
  const ran = fences.length === 1 || (fences.length > 1 && reply !== undefined && /^\s*<returncode>/.test(reply));
  if (!ran) {
    // Not executed: what the model said is kept as a message.
    return { ...parts, text: message.content, ...(message.reasoning ? { thought: message.reasoning } : {}) };
  }
  const command = fences[0]![1]!;
  const thought = prose || message.reasoning;
  return { ...parts, ...(thought ? { thought } : {}), tool: { name: "bash", args: { command }, command } };
}

/** `<returncode>N</returncode>\n<output>\n…\n</output>` → exit code and output; other texts (a submission diff, a format error) as they are. */
export function miniSweObservation(content: string): Observation {
  const returnCode = /^\s*<returncode>(-?\d+)<\/returncode>\s*/.exec(content);
  if (!returnCode) return { text: content };
  const rest = content.slice(returnCode[0].length);
  const output = /^<output>\n?([\s\S]*?)\n?<\/output>\s*$/.exec(rest);
  const exitCode = Number(returnCode[1]);
  return { text: output ? output[1]! : rest, exit_code: exitCode };
}

// ---- the run: which file, which report ----

const TRAJECTORY = /^(?:trajs\/[^/]+\/)?[^/]+\.traj\.json$/;

/**
 * mini-SWE-agent writes `info` (with its long config) first and `trajectory_format` last: look at both
 * ends. The `.traj.json` name alone is still a strong sign (a truncated file then gets its JSON error).
 */
async function trajectoryScore(run: RunFiles, relative: string): Promise<number> {
  const file = absolute(run, relative);
  const head = (await peek(file, 4096)).toString("utf8").trimStart();
  if (!head.startsWith("{")) return 0;
  const marker = /"trajectory_format":\s*"mini-swe-agent/;
  if (marker.test(head) || /^\{\s*"messages":\s*\[/.test(head) || marker.test((await peekTail(file, 4096)).toString("utf8"))) return 1;
  return 0.7;
}

async function peekTail(file: string, bytes: number): Promise<Buffer> {
  const handle = await open(file, "r");
  try {
    const { size } = await handle.stat();
    const buffer = Buffer.alloc(Math.min(bytes, size));
    const { bytesRead } = await handle.read(buffer, 0, buffer.length, size - buffer.length);
    return buffer.subarray(0, bytesRead);
  } finally {
    await handle.close();
  }
}

async function trajectoryOf(run: RunFiles): Promise<{ file: string; score: number } | undefined> {
  const candidates = run.files.filter((file) => TRAJECTORY.test(file));
  if (candidates.length !== 1) return undefined;
  const score = await trajectoryScore(run, candidates[0]!);
  return score > 0 ? { file: candidates[0]!, score } : undefined;
}

/** The harness report of this instance: inside the run, or beside it in a SWE-bench results folder. */
function reportPathOf(run: RunFiles, trajectory: string, instanceId: string): string | undefined {
  const inside = [`logs/${instanceId}/report.json`, "report.json"].find((candidate) => run.files.includes(candidate));
  if (inside) return inside;
  // <results>/trajs/<id>/<id>.traj.json is judged in <results>/logs/<id>/report.json
  const trajectoryDir = path.dirname(absolute(run, trajectory));
  if (path.basename(trajectoryDir) !== instanceId || path.basename(path.dirname(trajectoryDir)) !== "trajs") return undefined;
  const beside = path.join(path.dirname(path.dirname(trajectoryDir)), "logs", instanceId, "report.json");
  return existsSync(beside) ? path.relative(run.root, beside).split(path.sep).join("/") : undefined;
}

async function miniSweOutcome(run: RunFiles, trajectory: string, info: unknown, instanceId: string): Promise<Outcome> {
  const exitStatus: OutcomeEvidence[] = isRecord(info) && typeof info.exit_status === "string"
    ? [{ name: "exit_status", status: info.exit_status, source: { path: trajectory, pointer: "/info/exit_status" } }]
    : [];
  const reportPath = reportPathOf(run, trajectory, instanceId);
  // The report may sit outside the run's own files (results layout), so it is added to them to be read.
  const report = reportPath ? await readOptionalJson({ ...run, files: [reportPath] }, reportPath) : undefined;
  const verdict = reportPath ? sweBenchReportOutcome(report, reportPath) : undefined;
  if (verdict) return { status: verdict.status, evidence: [...verdict.evidence, ...exitStatus] };
  return { status: "unknown", evidence: exitStatus };
}

export const miniSweAgent: Extractor = {
  id: "mini-swe-agent",
  version: "1",
  format: "mini-SWE-agent trajectory (.traj.json)",
  async detect(run) {
    return (await trajectoryOf(run))?.score ?? 0;
  },
  async extract(run) {
    const trajectory = (await trajectoryOf(run))?.file;
    if (!trajectory) throw new RunError("no mini-SWE-agent trajectory (*.traj.json with messages[]) in this run");
    const warnings = new WarningLog();
    const document = await openJsonDocument(run, trajectory);
    const steps: Step[] = [];
    let task: string | undefined;
    let pending: { message: MiniSweMessage; pointer: string } | undefined;
    const flush = (reply?: string, replyPointer?: string) => {
      if (!pending) return;
      const sources = [{ path: trajectory, pointer: pending.pointer }, ...(replyPointer ? [{ path: trajectory, pointer: replyPointer }] : [])];
      steps.push(assembleStep(steps.length + 1, miniSweAction(pending.message, reply), reply === undefined ? undefined : miniSweObservation(reply), sources));
      pending = undefined;
    };
    for await (const { index, value } of document.array("/messages")) {
      const pointer = pointerOf("messages", index);
      const message = decodeMiniSweMessage(value);
      if (!message) {
        warnings.add({ path: trajectory, pointer }, "not a {role, content} message");
        continue;
      }
      if (message.role === "assistant") {
        flush();
        pending = { message, pointer };
      } else if (message.role === "system") {
        continue;
      } else if (pending) {
        flush(message.content, pointer);
      } else if (task === undefined && steps.length === 0) {
        task = message.content;
      } else {
        steps.push(assembleStep(steps.length + 1, { actor: message.role, text: message.content }, undefined, [{ path: trajectory, pointer }]));
      }
    }
    flush();
    const info = await document.value("/info");
    const instanceId = String((await document.value("/instance_id")) ?? path.basename(trajectory).replace(/\.traj\.json$/, ""));
    return { steps, task, outcome: await miniSweOutcome(run, trajectory, info, instanceId), warnings: warnings.toJSON() };
  },
};
