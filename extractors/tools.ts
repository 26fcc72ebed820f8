import { isRecord } from "./io.js";

/** Tool names (lower-cased) whose argument is a shell command line. */
const SHELL_TOOLS = new Set([
  "bash", "shell", "sh", "execute_bash", "execute_command", "run_shell_command", "run_command",
  "terminal", "cmd", "exec", "run", "command",
]);

/** Argument keys that hold the command line of a shell tool, most specific first. */
const COMMAND_KEYS = ["command", "cmd", "script", "keystrokes", "input"];

export function isShellTool(name: string): boolean {
  return SHELL_TOOLS.has(name.toLowerCase());
}

/** The command line of a shell tool call, if it is one. */
export function shellCommandOf(name: string, args: unknown): string | undefined {
  if (!isShellTool(name)) return undefined;
  if (typeof args === "string") return args;
  if (!isRecord(args)) return undefined;
  for (const key of COMMAND_KEYS) {
    const value = args[key];
    if (typeof value === "string") return value;
    if (Array.isArray(value) && value.every((part) => typeof part === "string")) return value.join(" ");
  }
  return undefined;
}

/** Claude Code reports a failing Bash call as "Exit code N" on the first line of its result. */
export function exitCodeFromText(text: string): number | undefined {
  const match = /^(?:Exit code|exit code:?|\[exit code\])\s*(-?\d+)/m.exec(text.slice(0, 200));
  return match ? Number(match[1]) : undefined;
}
