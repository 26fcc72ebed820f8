import path from "node:path";
import { RunError } from "../schema/errors.js";
import type { Step, ToolCall } from "../schema/step.js";
import type { Outcome, OutcomeEvidence } from "../schema/trace.js";
import { absolute, isRecord, peek, readOptionalJson, WarningLog } from "./io.js";
import { openJsonDocument, pointerOf, type JsonDocument } from "./jsonStream.js";
import { assembleStep, type ActionParts } from "./stepParts.js";
import type { Extractor, RunFiles } from "./types.js";
import { sweBenchReportOutcome } from "./verifiers.js";

/**
 * SWE-agent `*.traj` (0.x and 1.x): `trajectory[]` of {action, observation, thought, response},
 * `history[]` (the chat; in 1.x its assistant turns carry `tool_calls`), `info.exit_status`,
 * `info.submission`. One Step per trajectory entry. A run is one `.traj` file, or the 1.x instance
 * folder `<id>/<id>.traj` (with its `.pred`, `.patch`, logs).
 * Outcome: an exit status of `submitted` is not a pass; unknown unless a resolution is recorded
 * (`info.resolved`, or a SWE-bench `report.json` in the run).
 */

/** SWE-agent's own interface commands (ACI): named tools, not shell programs. Anything else ran in bash. */
const ACI_COMMANDS = new Set([
  "open", "goto", "scroll_up", "scroll_down", "create", "edit", "insert", "append", "search_dir", "search_file",
  "find_file", "submit", "exit_forfeit", "exit_cost", "exit_context", "exit_format", "skip", "str_replace_editor",
  "filemap", "view_image", "decompile", "disassemble", "debug_start", "debug_add_breakpoint", "debug_continue",
  "debug_step", "debug_exec", "debug_stop", "connect_start", "connect_sendline", "connect_exec", "connect_stop",
]);

/** The tool of an action line: the function call SWE-agent 1.x recorded, else the ACI command or bash. */
export function sweAgentTool(action: string, toolCall?: unknown): ToolCall | undefined {
  const trimmed = action.replace(/\n+$/, "");
  const call = isRecord(toolCall) && isRecord(toolCall.function) ? toolCall.function : undefined;
  if (call && typeof call.name === "string") {
    const args = parseArguments(call.arguments);
    const id = isRecord(toolCall) && typeof toolCall.id === "string" ? { id: toolCall.id } : {};
    const command = call.name === "bash" && isRecord(args) && typeof args.command === "string" ? { command: args.command } : {};
    return { name: call.name, ...id, args, ...command };
  }
  if (trimmed.trim() === "") return undefined;
  const word = trimmed.trim().split(/\s/, 1)[0]!;
  if (ACI_COMMANDS.has(word)) return { name: word, args: { input: trimmed } };
  return { name: "bash", args: { command: trimmed }, command: trimmed };
}

function parseArguments(raw: unknown): unknown {
  if (typeof raw !== "string") return raw;
  try {
    return JSON.parse(raw);
  } catch {
    return raw;
  }
}

/** A trajectory entry as an action (`history` supplies the 1.x tool call when one matches). */
export function sweAgentAction(entry: Record<string, unknown>, toolCall?: unknown): ActionParts {
  const action = typeof entry.action === "string" ? entry.action : "";
  const thought = typeof entry.thought === "string" ? entry.thought.trim() : "";
  const tool = sweAgentTool(action, toolCall);
  const response = typeof entry.response === "string" ? entry.response : "";
  return { actor: "agent", ...(thought ? { thought } : {}), ...(tool ? { tool } : { text: response || action }) };
}

interface HistoryTurn {
  index: number;
  action: string;
  toolCall?: unknown;
}

/** The assistant turns of `history` (to match tool calls) and the task: the first non-demonstration user message. */
async function readHistory(document: JsonDocument): Promise<{ turns: HistoryTurn[]; task?: string }> {
  const turns: HistoryTurn[] = [];
  let task: string | undefined;
  for await (const { index, value } of document.array("/history")) {
    if (!isRecord(value)) continue;
    if (value.role === "assistant" && typeof value.action === "string") {
      const toolCall = Array.isArray(value.tool_calls) ? value.tool_calls[0] : undefined;
      turns.push({ index, action: value.action, ...(toolCall ? { toolCall } : {}) });
    } else if (value.role === "user" && !value.is_demo && task === undefined && typeof value.content === "string") {
      task = value.content;
    }
  }
  return { turns, task };
}

function sameAction(a: string, b: string): boolean {
  return a.trim() === b.trim();
}

// ---- the run ----

function trajectoryOf(run: RunFiles): string | undefined {
  if (run.isFile) return run.files[0]!.endsWith(".traj") ? run.files[0] : undefined;
  // 1.x instance folder: <id>/<id>.traj
  const own = `${path.basename(run.root)}.traj`;
  return run.files.includes(own) ? own : undefined;
}

async function looksLikeSweAgent(run: RunFiles, relative: string): Promise<number> {
  const head = (await peek(absolute(run, relative), 4096)).toString("utf8").trimStart();
  if (!head.startsWith("{")) return 0;
  return /"(trajectory|environment)":/.test(head) ? 1 : 0.6;
}

async function sweAgentOutcome(run: RunFiles, trajectory: string, info: unknown): Promise<Outcome> {
  const evidence: OutcomeEvidence[] = [];
  if (isRecord(info) && typeof info.exit_status === "string") evidence.push({ name: "exit_status", status: info.exit_status, source: { path: trajectory, pointer: "/info/exit_status" } });
  if (isRecord(info) && typeof info.resolved === "boolean") {
    return { status: info.resolved ? "passed" : "failed", evidence: [{ name: "resolved", status: String(info.resolved), source: { path: trajectory, pointer: "/info/resolved" } }, ...evidence] };
  }
  const report = run.files.find((file) => /(^|\/)report\.json$/.test(file));
  const verdict = report ? sweBenchReportOutcome(await readOptionalJson(run, report), report) : undefined;
  if (verdict) return { status: verdict.status, evidence: [...verdict.evidence, ...evidence] };
  return { status: "unknown", evidence };
}

export const sweAgent: Extractor = {
  id: "swe-agent",
  version: "1",
  format: "SWE-agent trajectory (.traj)",
  async detect(run) {
    const trajectory = trajectoryOf(run);
    return trajectory ? looksLikeSweAgent(run, trajectory) : 0;
  },
  async extract(run) {
    const trajectory = trajectoryOf(run);
    if (!trajectory) throw new RunError("no SWE-agent .traj file in this run");
    const warnings = new WarningLog();
    const document = await openJsonDocument(run, trajectory);
    const { turns, task } = await readHistory(document);
    const steps: Step[] = [];
    let nextTurn = 0;
    for await (const { index, value } of document.array("/trajectory")) {
      const pointer = pointerOf("trajectory", index);
      if (!isRecord(value) || typeof value.action !== "string") {
        warnings.add({ path: trajectory, pointer }, "trajectory entry without an action");
        continue;
      }
      // History may hold extra turns (retries) or lack the last one: match by the action text, in order.
      const match = turns.findIndex((turn, position) => position >= nextTurn && sameAction(turn.action, value.action as string));
      const turn = match >= 0 ? turns[match] : undefined;
      if (match >= 0) nextTurn = match + 1;
      const observation = typeof value.observation === "string" ? { text: value.observation } : undefined;
      const sources = [{ path: trajectory, pointer }, ...(turn ? [{ path: trajectory, pointer: pointerOf("history", turn.index) }] : [])];
      steps.push(assembleStep(steps.length + 1, sweAgentAction(value, turn?.toolCall), observation, sources));
    }
    if (steps.length === 0 && !(await document.value("/trajectory"))) throw new RunError(`${trajectory} has no trajectory[]: not a SWE-agent trajectory`);
    const outcome = await sweAgentOutcome(run, trajectory, await document.value("/info"));
    return { steps, task, outcome, warnings: warnings.toJSON() };
  },
};
