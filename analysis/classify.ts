import type { Step, StepKind } from "../schema/step.js";
import type { StageLabel } from "../schema/trace.js";
import { isRecord } from "../extractors/io.js";
import { parseShell, programOf, type SimpleCommand } from "./shell.js";

/** What one step did, as far as can be told without running anything. */
export interface StepFacts {
  kind: StepKind;
  /** The purpose this step serves, used to cut stages. */
  purpose: StageLabel;
  /** Files the step wrote, created, edited or deleted. */
  writes: string[];
  /** Files or directories the step read or listed. */
  reads: string[];
  /** The call cannot have done what was meant: empty, a bare `:` no-op, a stray prefix, unparseable. */
  malformed: boolean;
}

const EXPLORE_TOOLS = /^(read|view|glob|grep|ls|list|find|search|open|scroll|goto|websearch|webfetch|browse|fetch|cat|read_file|list_files|find_file|search_file|search_dir|file_viewer)/i;
const CHANGE_TOOLS = /^(write|edit|multiedit|create|notebookedit|apply_patch|patch|str_replace|insert|delete|rename|move|write_file|edit_file|create_file|replace)/i;
const VERIFY_TOOLS = /^(test|run_tests|pytest|check|verify|submit)/i;
const MESSAGE_TOOLS = /^(todowrite|todoread|think|finish|task_complete|askuserquestion|message|respond|exit)/i;

const EXPLORE_PROGRAMS = new Set([
  "ls", "cat", "head", "tail", "less", "more", "grep", "egrep", "fgrep", "rg", "ag", "find", "fd", "pwd", "which",
  "whereis", "type", "echo", "printf", "wc", "file", "stat", "tree", "du", "df", "diff", "cmp", "env", "printenv",
  "ps", "top", "whoami", "id", "uname", "hostname", "date", "nl", "od", "xxd", "hexdump", "strings", "readlink",
  "realpath", "dirname", "basename", "sort", "uniq", "cut", "awk", "jq", "column", "md5sum", "sha256sum", "lsof",
  "free", "nproc", "lscpu", "history", "man", "help", "sleep", "true", "cd", "export", "source", ".", "set", "tr",
  "nvidia-smi", "netstat", "ss", "curl", "wget", "ping", "dpkg", "apt-cache", "locate", "tmux", "clear", "objdump",
  "nm", "readelf", "ldd", "sqlite3", "git-log",
]);
const CHANGE_PROGRAMS = new Set([
  "rm", "mv", "cp", "mkdir", "rmdir", "touch", "chmod", "chown", "ln", "tee", "patch", "dd", "truncate", "install",
  "tar", "unzip", "gunzip", "gzip", "bunzip2", "xz", "zip", "7z", "rsync", "kill", "pkill", "killall", "useradd",
  "update-alternatives", "systemctl", "service", "crontab", "sqlite3-write", "cmake", "make", "ninja", "gcc", "g++",
  "cc", "clang", "rustc", "javac", "go-build", "mkfifo", "openssl", "ssh-keygen", "git-apply",
]);
const PACKAGE_MANAGERS = new Set(["pip", "pip3", "apt", "apt-get", "npm", "yarn", "pnpm", "conda", "mamba", "cargo", "gem", "uv", "poetry", "brew", "apk", "yum", "dnf", "go", "R", "Rscript", "cpan", "opam", "nvm", "pipx", "rustup"]);
const INSTALL_VERBS = new Set(["install", "add", "i", "update", "upgrade", "sync", "remove", "uninstall", "create", "get"]);
const TEST_RUNNERS = new Set(["pytest", "py.test", "tox", "nox", "jest", "mocha", "vitest", "ctest", "rspec", "phpunit", "unittest"]);
const INTERPRETERS = new Set(["python", "python3", "python2", "node", "bash", "sh", "ruby", "perl", "Rscript", "julia", "java", "deno", "bun", "lua", "php", "tsx", "ts-node"]);
const NULL_SINKS = new Set(["/dev/null", "/dev/stdout", "/dev/stderr", "&1", "&2", "1", "2"]);

const KIND_RANK: Record<StepKind, number> = { message: 0, other: 1, explore: 2, verify: 3, change: 4 };

/** Classify one step from its tool and, for shell tools, from its parsed command line. */
export function stepFacts(step: Step): StepFacts {
  if (!step.tool) return { kind: step.text || step.thought ? "message" : "other", purpose: "finalization", writes: [], reads: [], malformed: false };
  if (step.tool.command !== undefined) return shellFacts(step.tool.command);
  return toolFacts(step.tool.name, step.tool.args);
}

function toolFacts(name: string, args: unknown): StepFacts {
  const paths = pathArgs(args);
  const subcommand = isRecord(args) && typeof args.command === "string" ? args.command : "";
  // OpenHands/SWE-agent editors carry the operation in a `command` argument.
  if (/str_replace_editor|editor|file_editor/i.test(name)) {
    const writes = /create|str_replace|insert|undo|write|edit/.test(subcommand);
    return facts(writes ? "change" : "explore", writes ? "implementation" : "inspection", writes ? paths : [], writes ? [] : paths);
  }
  if (CHANGE_TOOLS.test(name)) return facts("change", "implementation", paths, []);
  if (VERIFY_TOOLS.test(name)) return facts("verify", "verification", [], paths);
  if (EXPLORE_TOOLS.test(name)) return facts("explore", "inspection", [], paths);
  if (MESSAGE_TOOLS.test(name)) return facts("message", /finish|complete|submit|exit/i.test(name) ? "finalization" : "inspection", [], []);
  return facts("other", "inspection", [], paths);
}

function facts(kind: StepKind, purpose: StageLabel, writes: string[], reads: string[], malformed = false): StepFacts {
  return { kind, purpose, writes, reads, malformed };
}

function pathArgs(args: unknown): string[] {
  if (!isRecord(args)) return [];
  const paths: string[] = [];
  for (const key of ["file_path", "path", "filename", "file", "notebook_path", "target", "dest", "destination"]) {
    if (typeof args[key] === "string") paths.push(args[key] as string);
  }
  return paths;
}

/** A shell line is as state-changing as its most state-changing simple command. */
export function shellFacts(command: string): StepFacts {
  if (isMalformedCommand(command)) return facts("other", "inspection", [], [], true);
  const parsed = parseShell(command);
  if (parsed.malformed) return facts("other", "inspection", [], [], true);
  let best = facts("other", "inspection", [], []);
  const writes = new Set<string>(parsed.heredocs.flatMap((heredoc) => (heredoc.target ? [heredoc.target] : [])));
  const reads = new Set<string>();
  for (const simple of parsed.commands) {
    const one = simpleFacts(simple);
    one.writes.forEach((path) => writes.add(path));
    one.reads.forEach((path) => reads.add(path));
    if (KIND_RANK[one.kind] > KIND_RANK[best.kind] || (one.kind === best.kind && one.purpose === "environment_setup")) best = one;
  }
  if (writes.size > 0 && best.kind !== "change") best = facts("change", "implementation", [], []);
  return { ...best, writes: [...writes], reads: [...reads] };
}

/**
 * Commands that silently do nothing: empty, a bare `:` (with or without arguments), or a line that
 * starts with a stray `,`/`:`/brace before the real command (seen with models that garble tool arguments).
 */
export function isMalformedCommand(command: string): boolean {
  const trimmed = command.trim();
  if (trimmed === "" || trimmed === ":") return true;
  if (/^:\s/.test(trimmed) || /^:["']/.test(trimmed)) return true;
  if (/^[,}\]]/.test(trimmed)) return true;
  return false;
}

function simpleFacts(simple: SimpleCommand): StepFacts {
  const { program, args } = programOf(simple);
  const fileRedirects = simple.redirects
    .filter((redirect) => (redirect.op === ">" || redirect.op === ">>" || redirect.op === "&>" || redirect.op === ">|") && !NULL_SINKS.has(redirect.target))
    .map((redirect) => redirect.target);
  const operands = args.filter((arg) => !arg.startsWith("-"));
  if (fileRedirects.length > 0) return facts("change", "implementation", fileRedirects, []);
  if (program === "sed" && args.some((arg) => arg === "-i" || arg.startsWith("-i"))) return facts("change", "implementation", operands.slice(1), []);
  if (program === "perl" && args.some((arg) => /^-\w*i/.test(arg))) return facts("change", "implementation", operands.slice(1), []);
  if (program === "git") return gitFacts(args);
  if (PACKAGE_MANAGERS.has(program)) return packageFacts(program, args);
  if (TEST_RUNNERS.has(program) || isTestInvocation(program, args)) return facts("verify", "verification", [], operands);
  if (program === "tee") return facts("change", "implementation", operands, []);
  if (CHANGE_PROGRAMS.has(program)) return facts("change", "implementation", changedOperands(program, operands), []);
  if (EXPLORE_PROGRAMS.has(program)) return facts("explore", /^(which|whereis|type|nvidia-smi|nproc|free|lscpu|uname|dpkg|apt-cache)$/.test(program) ? "environment_setup" : "inspection", [], operands);
  if (args.includes("--version") || args.includes("-V") || args.includes("--help")) return facts("explore", "environment_setup", [], []);
  if (INTERPRETERS.has(program) || program.startsWith("python")) return interpreterFacts(program, args);
  if (program.startsWith("./") || program.includes(".")) return facts("verify", "verification", [], []);
  return facts("other", "inspection", [], operands);
}

function changedOperands(program: string, operands: string[]): string[] {
  if (program === "cp" || program === "mv" || program === "ln" || program === "install") return operands.slice(-1);
  if (program === "make" || program === "cmake" || program === "ninja" || program === "kill" || program === "pkill") return [];
  return operands;
}

function gitFacts(args: string[]): StepFacts {
  const sub = args.find((arg) => !arg.startsWith("-")) ?? "";
  if (/^(status|log|diff|show|branch|remote|ls-files|blame|grep|rev-parse|describe|config)$/.test(sub)) return facts("explore", "inspection", [], []);
  return facts("change", "implementation", [], []);
}

function packageFacts(program: string, args: string[]): StepFacts {
  const verb = args.find((arg) => !arg.startsWith("-")) ?? "";
  if (verb === "test" || (program === "go" && verb === "test") || (program === "cargo" && verb === "test")) return facts("verify", "verification", [], []);
  if (program === "cargo" && (verb === "build" || verb === "run")) return facts("change", "implementation", [], []);
  if (program === "npm" && verb === "run") return facts(args.some((arg) => /test/.test(arg)) ? "verify" : "other", args.some((arg) => /test/.test(arg)) ? "verification" : "implementation", [], []);
  if (INSTALL_VERBS.has(verb) || verb === "-m") return facts("change", "environment_setup", [], []);
  return facts("explore", "environment_setup", [], []);
}

function isTestInvocation(program: string, args: string[]): boolean {
  if ((program.startsWith("python") || program === "uv") && args.includes("-m")) {
    const module = args[args.indexOf("-m") + 1] ?? "";
    if (TEST_RUNNERS.has(module) || module === "pytest") return true;
  }
  return args.some((arg) => /(^|\/)(test_[^/]*|[^/]*_test|tests?)\.(py|sh|js|ts|rb|R)$/.test(arg)) || /test/.test(program);
}

function interpreterFacts(program: string, args: string[]): StepFacts {
  if (args.includes("-m") && ["pip", "venv", "ensurepip"].includes(args[args.indexOf("-m") + 1] ?? "")) return facts("change", "environment_setup", [], []);
  if (args[0] === "-c" || args[0] === "-e") return facts("explore", "inspection", [], []);
  const script = args.find((arg) => !arg.startsWith("-"));
  if (script && /test|check|verify|validate/i.test(script)) return facts("verify", "verification", [], [script]);
  // Running the agent's own program: it exercises the result, so it counts as a check of it.
  return facts("verify", "verification", [], script ? [script] : []);
}
