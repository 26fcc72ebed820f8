/**
 * Garbled tool calls: the model meant to run a command or write a file, but what reached the tool was
 * mangled (a stray `:`/`>`/`,` prefix, leaked tool-call markup, a broken path or file header). Such a
 * call silently does nothing or does the wrong thing, which is why it is a prime suspect for an onset.
 */

/** Why a call is garbled, and what it most likely meant to run once the garbage is removed. */
export interface Garble {
  reason: string;
  /** The command with the garbage prefix removed (empty when nothing meaningful is left). */
  intended: string;
  /** True when the garbage swallowed the whole call: nothing at all ran. */
  noEffect: boolean;
}

/** Markup of a tool-call protocol that leaked into the arguments (XML parameters, special tokens). */
const LEAKED_MARKUP = /<\/?parameter\b|<\|tool_call|<\|im_|<\/?invoke\b|<\/?function_calls>|<\/think>/;
/** A lone no-op builtin with nothing after it. */
const BARE_NOOP = /^:\s*$/;

/**
 * Is this shell command garbled? Recognized shapes (all seen in real runs): empty; `:` with the real
 * command as its arguments (`: pip install x`, `:"find …"`, `:python3 x.py`); a leading redirection that
 * turns the program name into a file (`>ls -la`, `>>> python3`); stray braces or commas before the
 * command (`]}`, `, ls`); leaked tool-call markup. `:;` and `: &&` prefixes are harmless and not garbled.
 */
export function garbledCommand(command: string): Garble | undefined {
  const trimmed = command.trim();
  if (trimmed === "") return { reason: "empty command", intended: "", noEffect: true };
  if (LEAKED_MARKUP.test(trimmed)) return { reason: "tool-call markup leaked into the command", intended: stripMarkup(trimmed), noEffect: false };
  if (BARE_NOOP.test(trimmed)) return { reason: "a bare `:` no-op", intended: "", noEffect: true };
  // `:;`, `: &&` or `:` on a line of its own end the no-op: what follows runs, and decides.
  const separated = /^:+[ \t]*(?:;|&&|\|\||\n)\s*(.*)$/s.exec(trimmed);
  if (separated) return garbledCommand(separated[1]!);
  const colon = /^:+(?!\s*(?:;|&&|\|\||\n|$))\s*(.*)$/s.exec(trimmed);
  if (colon) {
    const rest = unquoteWhole(colon[1]!.trim());
    // `: cmd && other`: the first command is swallowed, the rest still runs.
    const firstCommandOnly = !/(?:&&|\|\||;|\n)/.test(stripQuoted(rest));
    return { reason: "the command is hidden behind a `:` no-op", intended: rest, noEffect: firstCommandOnly };
  }
  const redirect = /^(>{1,3}&?|&>)\s*(.*)$/s.exec(trimmed);
  if (redirect) return { reason: "a stray `>` turns the program name into an output file", intended: redirect[2]!.trim(), noEffect: false };
  const junk = /^([,}\]{)(]+|\$\s)\s*(.*)$/s.exec(trimmed);
  if (junk) return { reason: `stray \`${junk[1]!.trim()}\` before the command`, intended: junk[2]!.trim(), noEffect: junk[2]!.trim() === "" };
  return undefined;
}

function stripMarkup(text: string): string {
  return text.replace(/<[^>]*>/g, " ").replace(/^[\s>:,└]+/, "").trim();
}

function unquoteWhole(text: string): string {
  const match = /^(["'])(.*)\1$/s.exec(text);
  return match ? match[2]!.trim() : text;
}

function stripQuoted(text: string): string {
  return text.replace(/"(?:[^"\\]|\\.)*"|'[^']*'/g, "''");
}

/** A file path argument that cannot name the intended file: garbage before it, markup, line breaks. */
export function garbledPath(path: string): string | undefined {
  if (path === "") return "empty path";
  if (/^\s/.test(path)) return "the path starts with whitespace";
  if (/[\n\r]/.test(path)) return "the path spans several lines";
  if (LEAKED_MARKUP.test(path)) return "tool-call markup leaked into the path";
  if (/^[:>,}\]]/.test(path)) return `stray \`${path[0]}\` before the path`;
  return undefined;
}

/** Languages in which no file can start with `:`, `>`, `,`, a brace or a full-width `！`. */
const CODE_EXTENSIONS = new Set([
  "py", "c", "h", "cc", "cpp", "hpp", "cxx", "js", "mjs", "cjs", "ts", "tsx", "jsx", "sh", "bash", "rb", "go",
  "rs", "java", "r", "pl", "php", "lua", "jl", "swift", "kt", "scala", "sql", "sparql", "rq", "json", "toml", "cfg", "ini",
]);
/** Formats where a leading `:` or `>` is legitimate (vim commands, quotes, YAML, plain text). */
const LEADING_PUNCTUATION_OK = new Set(["vim", "md", "markdown", "yaml", "yml", "rst", "html", "htm", "xml", "diff", "patch"]);

/**
 * File content whose first line is debris from the model's own output format (`:`, `>`, `, p`,
 * `！/usr/bin/env`): it breaks a source file and corrupts a data file.
 */
export function garbledContent(path: string, content: string): string | undefined {
  const extension = (/\.([A-Za-z0-9]+)$/.exec(path.trim())?.[1] ?? "").toLowerCase();
  if (LEADING_PUNCTUATION_OK.has(extension)) return undefined;
  const firstLine = content.split("\n").find((line) => line.trim() !== "") ?? "";
  const head = firstLine.trimStart();
  if (head.startsWith("！")) return "the file starts with a full-width `！` instead of `#!`";
  if (/^[:>,}\]](?![=:])/.test(head)) {
    if (CODE_EXTENSIONS.has(extension) || /^[:,]\s/.test(head) || /^[:>,}\]]\s*$/.test(head)) {
      return `the file starts with a stray \`${head.slice(0, 12).trim()}\` line`;
    }
  }
  return undefined;
}
