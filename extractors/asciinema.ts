import stripAnsi from "strip-ansi";
import { z } from "zod";
import { RunError } from "../schema/errors.js";
import type { WarningLog } from "./io.js";
import { isRecord } from "./io.js";
import { LineSplitter, readLines } from "./lines.js";

/**
 * asciinema recordings (v2, and v3's relative times) read as a stream: the terminal output ("o"
 * records) is concatenated, ANSI escapes are stripped and the text is split into terminal lines, each
 * tagged with the 1-based line of the cast record where it starts.
 */

const Header = z.looseObject({ version: z.union([z.literal(2), z.literal(3)]), timestamp: z.number().optional() });
const OutputRecord = z.tuple([z.number(), z.string(), z.string()]);

/** Terminal lines longer than this are dropped (and reported): nothing a recording holds needs more. */
const MAX_TERMINAL_LINE_CHARS = 32 * 1024 * 1024;

export interface TerminalLine {
  /** The text as the terminal showed it, without escapes or the trailing `\r`. */
  text: string;
  /** 1-based line of the cast record where this terminal line starts. */
  line: number;
  /** When that record was written (ISO), if the header has a start timestamp. */
  timestamp?: string;
  truncated: boolean;
}

interface RecordTag {
  line: number;
  seconds: number;
}

/** The terminal output of a cast as lines. Corrupt records are counted in `warnings`, never fatal. */
export async function* castTerminalLines(file: string, castPath: string, warnings: WarningLog): AsyncGenerator<TerminalLine> {
  const splitter = new LineSplitter<RecordTag>(MAX_TERMINAL_LINE_CHARS);
  let start: number | undefined;
  let relative = false;
  let clock = 0;
  const emit = (piece: { text: string; truncated: boolean; tag: RecordTag | undefined }): TerminalLine => {
    const tag = piece.tag ?? { line: 1, seconds: 0 };
    return {
      text: stripAnsi(piece.text).replace(/\r+$/, ""),
      line: tag.line,
      ...(start !== undefined ? { timestamp: new Date((start + tag.seconds) * 1000).toISOString() } : {}),
      truncated: piece.truncated,
    };
  };
  for await (const { text, line, truncated } of readLines(file)) {
    if (line === 1) {
      const header = Header.safeParse(parseJson(text));
      if (!header.success) throw new RunError(`${castPath} is not an asciinema v2/v3 recording (bad header line)`);
      start = header.data.timestamp;
      relative = header.data.version === 3;
      continue;
    }
    if (text.trim() === "") continue;
    const record = OutputRecord.safeParse(truncated ? undefined : parseJson(text));
    if (!record.success) {
      if (!isEventRecord(text)) warnings.add({ path: castPath, line }, truncated ? "cast record too long" : "not an asciinema event record");
      continue;
    }
    const [time, code, data] = record.data;
    clock = relative ? clock + time : time;
    if (code !== "o") continue;
    for (const piece of splitter.feed(data, { line, seconds: clock })) yield emit(piece);
  }
  for (const piece of splitter.end()) yield emit(piece);
}

/** A well-formed record of another kind (v3 has "x" exit records with numbers, markers, resizes). */
function isEventRecord(text: string): boolean {
  const value = parseJson(text);
  return Array.isArray(value) && value.length >= 2 && typeof value[0] === "number" && typeof value[1] === "string" && value[1] !== "o";
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/** How many terminal lines a wrapped JSON line may be spread over before we give up on it. */
const MAX_WRAPPED_LINES = 200;
const EVENT_START = /\{\s*"type"\s*:/;

export interface TerminalJsonEvent {
  event: Record<string, unknown>;
  line: number;
  timestamp?: string;
}

/**
 * The JSON objects with a string `type` printed on the terminal (Claude Code stream-json). A line that
 * starts an event but does not parse is joined with the following lines (terminal wrapping can put
 * `\r\n` inside a long line) until it parses; what never parses is counted in `warnings`.
 * `onOtherLine` sees every terminal line that is not part of an event (e.g. to report the last words
 * of a shell where the agent never started).
 */
export async function* terminalJsonEvents(
  lines: AsyncIterable<TerminalLine>,
  castPath: string,
  warnings: WarningLog,
  onOtherLine: (text: string) => void = () => {},
): AsyncGenerator<TerminalJsonEvent> {
  let pending: { text: string; line: number; timestamp?: string; joined: number } | undefined;
  const giveUp = () => {
    if (pending) warnings.add({ path: castPath, line: pending.line }, "a stream-json event on the terminal could not be decoded (cut or garbled)");
    pending = undefined;
  };
  for await (const terminalLine of lines) {
    const start = eventStart(terminalLine.text);
    if (pending && start !== 0) {
      const joined = pending.text + terminalLine.text;
      const event = typedObject(joined);
      if (event) {
        yield { event, line: pending.line, ...(pending.timestamp ? { timestamp: pending.timestamp } : {}) };
        pending = undefined;
        continue;
      }
      pending.joined += 1;
      pending.text = joined;
      if (pending.joined >= MAX_WRAPPED_LINES || terminalLine.truncated) giveUp();
      continue;
    }
    if (pending) giveUp();
    if (terminalLine.truncated) {
      warnings.add({ path: castPath, line: terminalLine.line }, "terminal line too long to decode");
      continue;
    }
    if (start === -1) {
      onOtherLine(terminalLine.text);
      continue;
    }
    const candidate = terminalLine.text.slice(start);
    const event = typedObject(candidate);
    if (event) yield { event, line: terminalLine.line, ...(terminalLine.timestamp ? { timestamp: terminalLine.timestamp } : {}) };
    else pending = { text: candidate, line: terminalLine.line, ...(terminalLine.timestamp ? { timestamp: terminalLine.timestamp } : {}), joined: 1 };
  }
  giveUp();
}

/** Where a stream-json event starts on the line: 0 for a line that is one, -1 when there is none. */
function eventStart(text: string): number {
  const trimmed = text.trimStart();
  if (trimmed.startsWith("{")) return EVENT_START.test(trimmed.slice(0, 40)) ? text.length - trimmed.length : -1;
  const match = EVENT_START.exec(text);
  return match ? match.index : -1;
}

function typedObject(text: string): Record<string, unknown> | undefined {
  const value = parseJson(text.trimEnd());
  return isRecord(value) && typeof value.type === "string" ? value : undefined;
}
