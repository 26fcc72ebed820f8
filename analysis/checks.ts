import { readFile, stat } from "node:fs/promises";
import path from "node:path";
import { isRecord } from "../extractors/io.js";
import type { RunFiles } from "../extractors/types.js";
import type { Outcome, OutcomeEvidence } from "../schema/trace.js";

/** One check the run failed, with as much of its report as could be read. */
export interface FailingCheck {
  name: string;
  status: string;
  /** The check's name, message and trace (the full record when its source could be read). */
  text: string;
}

/** Bounds on what is read back from the run for one check and for all of them. */
const MAX_CHECK_CHARS = 12_000;
const MAX_CHECKS = 40;
const MAX_SOURCE_BYTES = 8 * 1024 * 1024;
/** Line-oriented reports (pytest panes, test logs): how many lines from the named line belong to the check. */
const LINES_PER_CHECK = 60;

const PASSING = /^(passed|pass|ok|success|skipped|xfail|1(\.0+)?)$/i;

/** The checks of a failed run, or none when the run passed or its outcome is unknown. */
export function failingEvidence(outcome: Outcome | undefined): OutcomeEvidence[] {
  if (!outcome || outcome.status !== "failed") return [];
  return outcome.evidence.filter((item) => !PASSING.test(item.status.trim()) && item.name !== "reward").slice(0, MAX_CHECKS);
}

/**
 * Failing checks with their full report. Extractors keep only the head of a long trace in the
 * outcome, but the decisive line (`E ModuleNotFoundError: …`) is often at its end, so when a check
 * names its raw record the record is read back (read-only, bounded). Without a run it uses the outcome.
 */
export async function readFailingChecks(run: RunFiles | undefined, outcome: Outcome | undefined): Promise<FailingCheck[]> {
  const cache = new Map<string, Promise<string | undefined>>();
  const read = (relative: string) => {
    if (!cache.has(relative)) cache.set(relative, run ? readBounded(run, relative) : Promise.resolve(undefined));
    return cache.get(relative)!;
  };
  const checks: FailingCheck[] = [];
  for (const item of failingEvidence(outcome)) {
    let full: string | undefined;
    if (item.source && run) {
      const raw = await read(item.source.path);
      if (raw !== undefined) full = item.source.pointer !== undefined ? textAtPointer(raw, item.source.pointer) : textAtLine(raw, item.source.line);
    }
    checks.push({ name: item.name, status: item.status, text: cut(`${item.name}\n${full ?? item.detail ?? ""}`) });
  }
  return checks;
}

/** The failing checks from the outcome alone (no file access): what tests and pure callers use. */
export function failingChecksOf(outcome: Outcome | undefined): FailingCheck[] {
  return failingEvidence(outcome).map((item) => ({ name: item.name, status: item.status, text: cut(`${item.name}\n${item.detail ?? ""}`) }));
}

async function readBounded(run: RunFiles, relative: string): Promise<string | undefined> {
  const file = path.resolve(run.root, relative);
  // A source path comes from the extractor, but never read outside the run all the same.
  if (path.relative(run.root, file).startsWith("..")) return undefined;
  try {
    if ((await stat(file)).size > MAX_SOURCE_BYTES) return undefined;
    return await readFile(file, "utf8");
  } catch {
    return undefined;
  }
}

function textAtPointer(raw: string, pointer: string): string | undefined {
  let node: unknown;
  try {
    node = JSON.parse(raw);
  } catch {
    return undefined;
  }
  for (const token of pointer.split("/").slice(1).map((part) => part.replace(/~1/g, "/").replace(/~0/g, "~"))) {
    if (Array.isArray(node)) node = node[Number(token)];
    else if (isRecord(node)) node = node[token];
    else return undefined;
  }
  return collectStrings(node).join("\n");
}

function collectStrings(node: unknown, depth = 0): string[] {
  if (typeof node === "string") return [node];
  if (depth > 4) return [];
  if (Array.isArray(node)) return node.flatMap((item) => collectStrings(item, depth + 1));
  if (isRecord(node)) return Object.values(node).flatMap((value) => collectStrings(value, depth + 1));
  return [];
}

function textAtLine(raw: string, line: number | undefined): string | undefined {
  if (line === undefined) return undefined;
  return raw.split("\n").slice(line - 1, line - 1 + LINES_PER_CHECK).join("\n");
}

function cut(text: string): string {
  return text.length > MAX_CHECK_CHARS ? text.slice(0, MAX_CHECK_CHARS) : text;
}

/** Modules the checks could not import (`ModuleNotFoundError: No module named 'pexpect'`). */
export function missingModules(checks: FailingCheck[]): string[] {
  const names = new Set<string>();
  for (const check of checks) {
    for (const match of check.text.matchAll(/No module named ['"]?([\w.]+)['"]?|Cannot find module ['"]([^'"]+)['"]|([\w.-]+): command not found/g)) {
      const name = (match[1] ?? match[2] ?? match[3] ?? "").split(".")[0]!;
      if (name) names.add(name.toLowerCase());
    }
  }
  return [...names];
}

/** The checks could not reach a service the task asked for (nothing listening, connection reset). */
export function serviceUnreachable(checks: FailingCheck[]): boolean {
  return checks.some((check) => /connection refused|connection reset|ECONNREFUSED|ConnectionError|Max retries exceeded|Failed to establish a new connection|Couldn't connect to server|(server|service) is not running/i.test(check.text));
}

/** The checks report that an expected file does not exist. */
export function reportsMissingFile(checks: FailingCheck[]): boolean {
  return checks.some((check) => /FileNotFoundError|No such file or directory|does not exist|not found|\.exists\(\)/i.test(check.text));
}

/** The line of a check's report that says why it failed (pytest's `E …` line, an assertion or error). */
export function whyCheckFailed(check: FailingCheck): string {
  const lines = check.text.split("\n").slice(1).map((line) => line.trim()).filter(Boolean);
  const line = lines.find((candidate) => /^E\s+\S/.test(candidate)) ?? lines.find((candidate) => /\b(Error|assert|Exception|refused|not found|does not exist)\b/i.test(candidate)) ?? lines[0] ?? "";
  const flat = line.replace(/^E\s+/, "").replace(/\s+/g, " ");
  return flat.length > 160 ? `${flat.slice(0, 160)}…` : flat;
}
