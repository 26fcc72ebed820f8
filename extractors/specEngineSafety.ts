import { realpath } from "node:fs/promises";
import path from "node:path";
import { RunError } from "../schema/errors.js";

/**
 * Guards that make an extractor spec safe to interpret even when an LLM or an imported file wrote it:
 * bounded regexes, no prototype keys, no path that leaves the run. Specs are data; these checks are
 * what keeps "data" from becoming a denial of service or a file-disclosure primitive.
 */

/** Object keys a spec may never name: reading or writing them reaches Object.prototype. */
export const FORBIDDEN_KEYS: ReadonlySet<string> = new Set(["__proto__", "constructor", "prototype"]);

export const MAX_REGEX_LENGTH = 200;
/** Every regex runs on at most this many characters: the run-time half of the regex bound. */
export const MAX_REGEX_INPUT = 20_000;
export const MAX_GLOB_LENGTH = 200;

/** Why a regex is refused, or undefined when it is safe to run on untrusted text. */
export function regexProblem(pattern: string, flags = ""): string | undefined {
  if (pattern.length > MAX_REGEX_LENGTH) return `regex longer than ${MAX_REGEX_LENGTH} characters`;
  if (!/^[ims]*$/.test(flags)) return `regex flags "${flags}" not allowed (only i, m, s)`;
  try {
    new RegExp(pattern, flags);
  } catch (err) {
    return `invalid regex: ${(err as Error).message}`;
  }
  return backtrackingProblem(pattern);
}

interface GroupFrame {
  quantified: boolean;
  alternation: boolean;
}

/**
 * Refuse the shapes that backtrack exponentially: a quantified group that itself contains a
 * quantifier (`(a+)+`, star height > 1) or an alternation (`(a|a)*`), and backreferences. This is
 * stricter than a star-height check alone; specs rarely need either shape.
 */
function backtrackingProblem(pattern: string): string | undefined {
  const stack: GroupFrame[] = [{ quantified: false, alternation: false }];
  let lastClosed: GroupFrame | undefined;
  for (let i = 0; i < pattern.length; i += 1) {
    const char = pattern[i]!;
    const top = stack[stack.length - 1]!;
    if (char === "\\") {
      const next = pattern[i + 1] ?? "";
      if (/[1-9]/.test(next) || (next === "k" && pattern[i + 2] === "<")) return "backreferences are not allowed";
      i += 1;
      lastClosed = undefined;
      continue;
    }
    if (char === "[") {
      i = endOfClass(pattern, i);
      lastClosed = undefined;
      continue;
    }
    if (char === "(") {
      stack.push({ quantified: false, alternation: false });
      if (pattern[i + 1] === "?") i += 2; // group syntax (?:, (?=, (?<name>: the ? is not a quantifier
      lastClosed = undefined;
      continue;
    }
    if (char === ")") {
      const closed = stack.pop();
      if (!closed || stack.length === 0) return "unbalanced parentheses";
      const parent = stack[stack.length - 1]!;
      parent.quantified ||= closed.quantified;
      parent.alternation ||= closed.alternation;
      lastClosed = closed;
      continue;
    }
    if (char === "|") {
      top.alternation = true;
      lastClosed = undefined;
      continue;
    }
    const quantifierLength = quantifierAt(pattern, i);
    if (quantifierLength > 0) {
      // An optional group (`?`, `{0,1}`) is tried at most twice; only repetition can blow up.
      const repeats = !/^(\?|\{0,1\}|\{1\}|\{0\})$/.test(pattern.slice(i, i + quantifierLength));
      if (repeats && lastClosed && lastClosed.quantified) return "nested quantifier (a quantified group containing a quantifier) can backtrack catastrophically";
      if (repeats && lastClosed && lastClosed.alternation) return "quantified alternation can backtrack catastrophically";
      top.quantified = true;
      i += quantifierLength - 1;
      if (pattern[i + 1] === "?") i += 1; // lazy modifier
      lastClosed = undefined;
      continue;
    }
    lastClosed = undefined;
  }
  return undefined;
}

function endOfClass(pattern: string, start: number): number {
  for (let i = start + 1; i < pattern.length; i += 1) {
    if (pattern[i] === "\\") i += 1;
    else if (pattern[i] === "]" && i > start + 1) return i;
  }
  return pattern.length;
}

/** Length of the quantifier starting at `index` (`*`, `+`, `?`, `{n}`, `{n,}`, `{n,m}`), else 0. */
function quantifierAt(pattern: string, index: number): number {
  const char = pattern[index];
  if (char === "*" || char === "+" || char === "?") return 1;
  if (char !== "{") return 0;
  const match = /^\{\d+(,\d*)?\}/.exec(pattern.slice(index));
  return match ? match[0].length : 0;
}

const compiled = new Map<string, RegExp>();

/** A checked, cached RegExp; throws on a refused pattern (specs are validated first, so this is a backstop). */
export function safeRegExp(pattern: string, flags = ""): RegExp {
  const key = `${flags}/${pattern}`;
  let regex = compiled.get(key);
  if (!regex) {
    const problem = regexProblem(pattern, flags);
    if (problem) throw new RunError(`extractor spec regex refused: ${problem}`);
    regex = new RegExp(pattern, flags);
    if (compiled.size > 1000) compiled.clear();
    compiled.set(key, regex);
  }
  return regex;
}

/** Run a spec regex on untrusted text, never on more than MAX_REGEX_INPUT characters. */
export function boundedExec(pattern: string, flags: string, text: string): RegExpExecArray | null {
  return safeRegExp(pattern, flags).exec(text.length > MAX_REGEX_INPUT ? text.slice(0, MAX_REGEX_INPUT) : text);
}

/** Why a glob (or file path) of a spec could reach outside the run, or undefined when it stays inside. */
export function globProblem(glob: string): string | undefined {
  if (glob.length > MAX_GLOB_LENGTH) return `glob longer than ${MAX_GLOB_LENGTH} characters`;
  if (glob.includes("\0")) return "glob contains a NUL byte";
  if (glob.includes("\\")) return "use / in globs, not \\";
  if (glob.startsWith("/") || /^[A-Za-z]:/.test(glob) || glob.startsWith("~")) return "glob must be relative to the run";
  if (glob.split("/").some((segment) => segment === ".." || segment === ".")) return "glob must not contain . or .. segments";
  return undefined;
}

/**
 * The absolute path of a run file, after resolving symlinks, refusing anything that lands outside
 * the run's root: a spec (or a symlink planted in a run) can never make the engine read elsewhere.
 */
export async function resolveInsideRun(root: string, relative: string): Promise<string> {
  const problem = globProblem(relative);
  if (problem) throw new RunError(`${relative}: ${problem}`);
  const realRoot = await realpath(root);
  const real = await realpath(path.join(root, relative)).catch(() => {
    throw new RunError(`${relative}: no such file in the run`);
  });
  if (real !== realRoot && !real.startsWith(realRoot + path.sep)) throw new RunError(`${relative}: resolves outside the run directory; refused`);
  return real;
}

/** The first forbidden key found anywhere in a raw (parsed JSON) value, as a path, or undefined. */
export function forbiddenKeyPath(value: unknown, at = ""): string | undefined {
  if (Array.isArray(value)) {
    for (let index = 0; index < value.length; index += 1) {
      const found = forbiddenKeyPath(value[index], `${at}/${index}`);
      if (found) return found;
    }
    return undefined;
  }
  if (typeof value !== "object" || value === null) return undefined;
  for (const key of Object.keys(value)) {
    if (FORBIDDEN_KEYS.has(key)) return `${at}/${key}`;
    const found = forbiddenKeyPath((value as Record<string, unknown>)[key], `${at}/${key}`);
    if (found) return found;
  }
  return undefined;
}
