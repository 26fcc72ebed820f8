import { open, readFile, stat } from "node:fs/promises";
import path from "node:path";
import { RunError, errorMessage } from "../schema/errors.js";
import type { SourceRef } from "../schema/step.js";
import type { Warnings } from "../schema/trace.js";
import type { RunFiles } from "./types.js";

/** Whole-document JSON parsing is only for files below this size; larger ones must be streamed. */
export const MAX_WHOLE_JSON_BYTES = 256 * 1024 * 1024;

export function absolute(run: RunFiles, relative: string): string {
  return path.join(run.root, relative);
}

export function hasFile(run: RunFiles, relative: string): boolean {
  return run.files.includes(relative);
}

/** The first `bytes` of a file, for cheap format detection. */
export async function peek(file: string, bytes = 4096): Promise<Buffer> {
  const handle = await open(file, "r");
  try {
    const buffer = Buffer.alloc(bytes);
    const { bytesRead } = await handle.read(buffer, 0, bytes, 0);
    return buffer.subarray(0, bytesRead);
  } finally {
    await handle.close();
  }
}

/** Text files have no NUL bytes in their first block; this is the same test git and grep use. */
export function looksBinary(head: Buffer): boolean {
  return head.includes(0);
}

/** Read and parse a JSON document of the run, turning every failure into a one-line RunError. */
export async function readJsonFile(run: RunFiles, relative: string): Promise<unknown> {
  const file = absolute(run, relative);
  const { size } = await stat(file);
  if (size > MAX_WHOLE_JSON_BYTES) throw new RunError(`${relative} is ${size} bytes, too large to parse as one JSON document`);
  const buffer = await readFile(file);
  if (looksBinary(buffer.subarray(0, 8192))) throw new RunError(`${relative} is a binary file, not JSON`);
  const text = buffer.toString("utf8");
  if (text.trim() === "") throw new RunError(`${relative} is empty`);
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new RunError(`${relative} is not valid JSON (truncated or corrupt?): ${errorMessage(err)}`);
  }
}

/** Parse JSON if possible, else undefined; for optional side files whose damage must not sink the run. */
export async function readOptionalJson(run: RunFiles, relative: string): Promise<unknown> {
  if (!hasFile(run, relative)) return undefined;
  try {
    return await readJsonFile(run, relative);
  } catch {
    return undefined;
  }
}

export async function readOptionalText(run: RunFiles, relative: string, maxBytes = 1024 * 1024): Promise<string | undefined> {
  if (!hasFile(run, relative)) return undefined;
  const head = await peek(absolute(run, relative), maxBytes);
  return head.toString("utf8");
}

/** Counts undecodable records and keeps the first few locations (DESIGN: never crash on them). */
export class WarningLog {
  private count = 0;
  private readonly first: Warnings["first"] = [];
  constructor(private readonly keep = 5) {}

  add(source: SourceRef, reason: string): void {
    this.count += 1;
    if (this.first.length < this.keep) this.first.push({ source, reason });
  }

  toJSON(): Warnings | undefined {
    return this.count === 0 ? undefined : { count: this.count, first: this.first };
  }
}

/** Flatten the many shapes of "message content" (string, parts array, {text}) into plain text. */
export function contentText(content: unknown): string {
  if (content == null) return "";
  if (typeof content === "string") return content;
  if (Array.isArray(content)) return content.map(contentText).filter((part) => part !== "").join("\n");
  if (typeof content === "object") {
    const record = content as Record<string, unknown>;
    if (typeof record.text === "string") return record.text;
    if (typeof record.content === "string" || Array.isArray(record.content)) return contentText(record.content);
    if (record.type === "image" || record.type === "image_url") return "[image]";
    return JSON.stringify(content);
  }
  return String(content);
}

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
