import { parse, type ParseEntry } from "shell-quote";

/** One simple command of a shell line: `FOO=1 sed -i s/a/b/ f > out` → argv, env, redirects. */
export interface SimpleCommand {
  argv: string[];
  env: Record<string, string>;
  redirects: { op: string; target: string }[];
  /** Its output feeds the next command through `|`. */
  piped?: boolean;
}

export interface ParsedShell {
  commands: SimpleCommand[];
  /** Bodies of here-documents, with the file they were redirected into and the program reading them. */
  heredocs: { delimiter: string; body: string; target?: string; program?: string }[];
  /** True when the line could not be tokenized (unbalanced quotes and the like). */
  malformed: boolean;
}

const HEREDOC_START = /<<-?\s*(['"]?)([A-Za-z_][\w.-]*)\1/g;
const SEPARATORS = new Set([";", "&&", "||", "|", "&", "|&", ";;", "(", ")"]);
const REDIRECTS = new Set([">", ">>", "<", ">&", "<&", "<>", ">|", "&>", "&>>"]);

/**
 * Cut here-document bodies out of a script, since shell-quote knows nothing of them and would
 * tokenize their text as commands.
 */
export function splitHeredocs(script: string): { script: string; heredocs: ParsedShell["heredocs"] } {
  const lines = script.split("\n");
  const kept: string[] = [];
  const heredocs: ParsedShell["heredocs"] = [];
  for (let index = 0; index < lines.length; index += 1) {
    const line = lines[index]!;
    kept.push(line);
    const delimiters = [...line.matchAll(HEREDOC_START)].map((match) => match[2]!);
    for (const delimiter of delimiters) {
      const body: string[] = [];
      index += 1;
      while (index < lines.length && lines[index]!.trim() !== delimiter) body.push(lines[index++]!);
      const target = redirectTargetOn(line);
      heredocs.push({ delimiter, body: body.join("\n"), ...(target ? { target } : {}), ...readerOf(line) });
    }
  }
  return { script: kept.join("\n").replace(HEREDOC_START, " "), heredocs };
}

/** The program a here-document feeds (`python3 - <<EOF` → python3), when it is not just `cat`. */
function readerOf(line: string): { program?: string } {
  const before = line.slice(0, line.search(/<</)).trim().split(/\s*(?:&&|\|\||;|\|)\s*/).pop() ?? "";
  const program = before.split(/\s+/).find((word) => !/^[A-Za-z_]\w*=/.test(word) && word !== "sudo") ?? "";
  const name = program.slice(program.lastIndexOf("/") + 1);
  return name && name !== "cat" && name !== "tee" ? { program: name } : {};
}

function redirectTargetOn(line: string): string | undefined {
  const redirect = /(?:^|[^<>&\d])>>?\s*(['"]?)([^\s'";|&<>]+)\1/.exec(line);
  if (redirect) return redirect[2];
  const tee = /\btee\s+(?:-a\s+)?(['"]?)([^\s'";|&<>]+)\1/.exec(line);
  return tee?.[2];
}

/** Parse a command line into simple commands. Variables are kept as `$NAME` text; nothing is evaluated. */
export function parseShell(command: string): ParsedShell {
  const { script, heredocs } = splitHeredocs(command);
  let entries: ParseEntry[];
  try {
    // Newlines separate commands like `;` does; shell-quote would otherwise join the lines.
    entries = parse(script.replace(/\\\n/g, " ").replace(/\n/g, " ; "), (name) => `$${name}`);
  } catch {
    return { commands: [], heredocs, malformed: true };
  }
  const commands: SimpleCommand[] = [];
  let current: SimpleCommand = emptyCommand();
  let pendingRedirect: string | undefined;
  const flush = () => {
    if (current.argv.length > 0 || current.redirects.length > 0) commands.push(current);
    current = emptyCommand();
  };
  for (const entry of entries) {
    if (typeof entry === "string") {
      if (pendingRedirect) {
        current.redirects.push({ op: pendingRedirect, target: entry });
        pendingRedirect = undefined;
      } else if (current.argv.length === 0 && /^[A-Za-z_]\w*=/.test(entry)) {
        const at = entry.indexOf("=");
        current.env[entry.slice(0, at)] = entry.slice(at + 1);
      } else {
        current.argv.push(entry);
      }
    } else if ("op" in entry) {
      if (entry.op === "glob") current.argv.push((entry as { pattern: string }).pattern);
      else if (REDIRECTS.has(entry.op)) {
        // `2>/dev/null` reaches us as "2" then ">": the digit names a file descriptor, not an argument.
        if (/^\d$/.test(current.argv[current.argv.length - 1] ?? "") && current.argv.length > 1) current.argv.pop();
        pendingRedirect = entry.op;
      } else if (SEPARATORS.has(entry.op)) {
        if (entry.op === "|" || entry.op === "|&") current.piped = true;
        flush();
      }
    }
    // comments are dropped
  }
  flush();
  return { commands, heredocs, malformed: false };
}

function emptyCommand(): SimpleCommand {
  return { argv: [], env: {}, redirects: [] };
}

/** The program a simple command runs, skipping wrappers like `sudo`, `timeout 10`, `env`. */
export function programOf(command: SimpleCommand): { program: string; args: string[] } {
  const argv = [...command.argv];
  while (argv.length > 0) {
    const head = basename(argv[0]!);
    if (head === "sudo" || head === "env" || head === "nohup" || head === "exec" || head === "time" || head === "command") {
      argv.shift();
      while (argv[0]?.startsWith("-") || /^[A-Za-z_]\w*=/.test(argv[0] ?? "")) argv.shift();
    } else if (head === "timeout") {
      argv.shift();
      while (argv[0]?.startsWith("-")) argv.shift();
      argv.shift(); // the duration
    } else {
      break;
    }
  }
  return { program: basename(argv[0] ?? ""), args: argv.slice(1) };
}

function basename(word: string): string {
  return word.slice(word.lastIndexOf("/") + 1);
}
