import type { Outcome, OutcomeEvidence } from "../schema/trace.js";
import { RunError } from "../schema/errors.js";
import { castTerminalLines, terminalJsonEvents } from "./asciinema.js";
import { ClaudeCodeSession, type SessionResult } from "./claudeCodeEvents.js";
import { absolute, hasFile, isRecord, peek, WarningLog } from "./io.js";
import { readLines } from "./lines.js";
import type { ExtractedRun, Extractor, RunFiles } from "./types.js";
import { firstLines, harborOutcome } from "./verifiers.js";

/**
 * Claude Code `--output-format stream-json` logs: a JSONL file on its own, the `agent/claude-code.txt`
 * of a Harbor trial, or the events printed inside an asciinema recording. The event → Step rules are in
 * claudeCodeEvents.ts; this file only reads the containers, line by line (never the whole file).
 */

const HARBOR_LOG = "agent/claude-code.txt";
/** Claude Code writes `type` first; a line starting like this is a stream-json event. */
const STREAM_JSON_LINE = /^\s*\{\s*"type"\s*:\s*"(system|assistant|user|result)"/;

/** Feed every line of a stream-json JSONL file to the session; undecodable lines become warnings. */
export async function readStreamJsonFile(run: RunFiles, relative: string, session: ClaudeCodeSession, warnings: WarningLog): Promise<void> {
  for await (const { text, line, truncated } of readLines(absolute(run, relative))) {
    const source = { path: relative, line };
    if (truncated) {
      warnings.add(source, "line too long to decode");
      continue;
    }
    if (text.trim() === "") continue;
    let event: unknown;
    try {
      event = JSON.parse(text);
    } catch {
      warnings.add(source, "not valid JSON (cut or garbled line)");
      continue;
    }
    if (!isRecord(event) || typeof event.type !== "string") {
      warnings.add(source, "a JSON value that is not a stream-json event (no \"type\")");
      continue;
    }
    session.push(event, { source });
  }
}

/** Feed the stream-json events printed in an asciinema recording; returns the last non-event terminal lines. */
export async function readStreamJsonCast(run: RunFiles, relative: string, session: ClaudeCodeSession, warnings: WarningLog): Promise<string[]> {
  const tail: string[] = [];
  const remember = (text: string) => {
    if (text.trim() === "") return;
    tail.push(text.trim());
    if (tail.length > 3) tail.shift();
  };
  const lines = castTerminalLines(absolute(run, relative), relative, warnings);
  for await (const { event, line, timestamp } of terminalJsonEvents(lines, relative, warnings, remember)) {
    session.push(event, { source: { path: relative, line }, ...(timestamp ? { timestamp } : {}) });
  }
  return tail;
}

/** The `result` events as outcome evidence (they say how the session ended, not whether the task was solved). */
export function sessionResultEvidence(results: SessionResult[]): OutcomeEvidence[] {
  return results.map((result) => ({
    name: "claude-code result",
    status: result.isError ? `error (${result.subtype})` : result.subtype,
    ...(result.text ? { detail: firstLines(result.text) } : {}),
    source: result.source,
  }));
}

/**
 * Outcome from the session alone: an error result (max turns, execution error) is a failed run; a
 * successful end says only that the agent stopped, so the outcome stays unknown without a verifier.
 */
export function sessionOutcome(results: SessionResult[]): Outcome {
  const last = results.at(-1);
  const failed = last !== undefined && (last.isError || last.subtype.startsWith("error"));
  return { status: failed ? "failed" : "unknown", evidence: sessionResultEvidence(results) };
}

async function sessionFrom(read: (session: ClaudeCodeSession, warnings: WarningLog) => Promise<unknown>) {
  const warnings = new WarningLog();
  const session = new ClaudeCodeSession(warnings);
  await read(session, warnings);
  return { session, steps: session.finish(), warnings };
}

/** A stream-json file analysed on its own. */
export const claudeCodeStreamJson: Extractor = {
  id: "claude-code-stream-json",
  version: "1",
  format: "Claude Code stream-json",
  async detect(run) {
    if (!run.isFile) return 0;
    const head = (await peek(run.input, 4096)).toString("utf8");
    // Every stream-json event names its session; `"type": "system"` alone is common to chat exports.
    return STREAM_JSON_LINE.test(head) && /"session_id"\s*:/.test(head) ? 0.9 : 0;
  },
  async extract(run): Promise<ExtractedRun> {
    const file = run.files[0]!;
    const { session, steps, warnings } = await sessionFrom((session, log) => readStreamJsonFile(run, file, session, log));
    return { steps, task: session.task, outcome: sessionOutcome(session.results), warnings: warnings.toJSON() };
  },
};

/**
 * A Harbor trial read from `agent/claude-code.txt`. ATIF (`harbor-atif`, score 1) stays primary when
 * `agent/trajectory.json` exists; this one is chosen when it is missing (agent timeouts).
 */
export const harborClaudeCode: Extractor = {
  id: "harbor-claude-code",
  version: "1",
  format: "harbor-trial (Claude Code stream-json)",
  async detect(run) {
    return !run.isFile && hasFile(run, HARBOR_LOG) ? 0.8 : 0;
  },
  async extract(run): Promise<ExtractedRun> {
    const { session, steps, warnings } = await sessionFrom((session, log) => readStreamJsonFile(run, HARBOR_LOG, session, log));
    const outcome = await harborOutcome(run);
    outcome.evidence.push(...sessionResultEvidence(session.results));
    return { steps, task: session.task, outcome, warnings: warnings.toJSON() };
  },
};

/** An asciinema recording of a terminal where Claude Code printed stream-json, analysed on its own. */
export const claudeCodeCast: Extractor = {
  id: "claude-code-cast",
  version: "1",
  format: "Claude Code stream-json in an asciinema recording",
  async detect(run) {
    if (!run.isFile || !run.input.endsWith(".cast")) return 0;
    const head = (await peek(run.input, 256)).toString("utf8");
    return /^\s*\{\s*"version"\s*:\s*[23]\b/.test(head) ? 0.6 : 0;
  },
  async extract(run): Promise<ExtractedRun> {
    const file = run.files[0]!;
    let tail: string[] = [];
    const { session, steps, warnings } = await sessionFrom(async (session, log) => {
      tail = await readStreamJsonCast(run, file, session, log);
    });
    if (steps.length === 0) throw noEventsError(file, tail);
    return { steps, task: session.task, outcome: sessionOutcome(session.results), warnings: warnings.toJSON() };
  },
};

/** A recording with no agent events: say what the terminal said last (e.g. `claude: command not found`). */
export function noEventsError(castPath: string, tail: string[]): RunError {
  const last = tail.length > 0 ? `; the terminal ends with: ${tail.join(" | ").slice(0, 300)}` : "";
  return new RunError(`${castPath} holds no Claude Code stream-json events (the agent never ran?)${last}`);
}
