import { isRecord } from "../extractors/io.js";
import type { Step, StepKind } from "../schema/step.js";
import type { StageLabel } from "../schema/trace.js";
import { commandFacts, inlineCodeFacts, type CommandFacts } from "./commands.js";
import { garbledCommand, garbledContent, garbledPath } from "./malformed.js";
import { parseShell } from "./shell.js";

/** What one step did, as far as can be told without running anything. */
export interface StepFacts {
  /** What the call actually did: a garbled call that ran nothing is `other`, whatever it meant. */
  kind: StepKind;
  /** The purpose this step serves, used to cut stages. */
  purpose: StageLabel;
  /** What the call was meant to do (for a garbled call: its command once the garbage is removed). */
  intent: StepKind;
  /** Files the step wrote, created, edited or deleted. */
  writes: string[];
  /** Files or directories the step read, listed or executed. */
  reads: string[];
  /** Packages it installed or meant to install. */
  installs: string[];
  /** Workspace scripts and programs it executed. */
  runs: string[];
  /** The call was garbled (see analysis/malformed.ts); `malformedReason` says how. */
  malformed: boolean;
  malformedReason?: string;
  /** Nothing at all can have happened (a bare no-op, an empty call). */
  noEffect: boolean;
  /** It started a program that waits for a human, through a tool that has none. */
  interactive: boolean;
  /** It started a background job (its effect outlives the call only while the session does). */
  background: boolean;
  /** Text a Write/Edit put into a file, kept to link later runs of that file to what it does. */
  content?: string;
  /** The call changed something outside the workspace through a tool of its own (a refund, a sent reply): the tool's name. */
  acts?: string;
}

const KIND_RANK: Record<StepKind, number> = { message: 0, other: 1, explore: 2, verify: 3, change: 4 };

function base(kind: StepKind, purpose: StageLabel, extra: Partial<StepFacts> = {}): StepFacts {
  return { kind, purpose, intent: kind, writes: [], reads: [], installs: [], runs: [], malformed: false, noEffect: false, interactive: false, background: false, ...extra };
}

/** Classify one step from its tool and, for shell tools, from its parsed command line. */
export function stepFacts(step: Step): StepFacts {
  if (!step.tool) {
    const said = (step.text ?? "").trim() !== "" || (step.thought ?? "").trim() !== "";
    return base(said ? "message" : "other", "finalization");
  }
  const background = isRecord(step.tool.args) && step.tool.args.run_in_background === true;
  const facts = step.tool.command !== undefined ? shellFacts(step.tool.command) : toolFacts(step.tool.name, step.tool.args);
  return background ? { ...facts, background: true } : facts;
}

/** Claude Code, OpenHands, SWE-agent and OTel tool names, by what they do. */
const EXPLORE_TOOLS = /^(read|view|glob|grep|ls|list|find|search|open|scroll|goto|websearch|webfetch|browse|fetch|cat|read_file|list_files|list_dir|find_file|search_file|search_dir|file_viewer|get_file|bashoutput|taskoutput|notebookread)/i;
const CHANGE_TOOLS = /^(write|edit|multiedit|create|notebookedit|apply_patch|patch|str_replace|insert|delete|rename|move|write_file|edit_file|create_file|replace|append)/i;
const VERIFY_TOOLS = /^(test|run_tests|pytest|check|verify)/i;
const PLAN_TOOLS = /^(todowrite|todoread|think|plan|update_plan|askuserquestion|message|respond)/i;
const FINISH_TOOLS = /^(finish|task_complete|submit|exit|done|attempt_completion|mark_task_complete)/i;
const PROCESS_TOOLS = /^(killshell|kill|taskstop|stop)/i;

/**
 * Tools of agent systems no rule above knows (a support copilot's `refund_charge`, an ops bot's
 * `restartService`) are named verb first; the verb says whether the call only looks or acts.
 */
const LOOKING_VERBS = new Set(["get", "lookup", "list", "search", "query", "fetch", "find", "read", "show", "describe", "retrieve", "inspect", "view", "recall", "decompile", "count", "check"]);
const ACTING_VERBS = new Set(["refund", "cancel", "send", "update", "set", "create", "delete", "remove", "add", "post", "put", "issue", "approve", "reject", "assign", "close", "reopen", "charge", "pay", "transfer", "grant", "revoke", "schedule", "book", "deploy", "restart", "merge", "publish", "upload", "place", "disable", "enable", "reset", "change", "modify", "mark", "apply", "escalate", "notify", "email", "reply", "order", "void", "credit", "suspend", "terminate", "install", "commit", "push"]);

function leadingVerb(name: string): string {
  return (name.split(/[_\-.\s]+|(?<=[a-z0-9])(?=[A-Z])/)[0] ?? "").toLowerCase();
}

function toolFacts(name: string, args: unknown): StepFacts {
  const paths = pathArgs(args);
  const pathProblem = paths.map(garbledPath).find((problem) => problem !== undefined);
  const emptyArgs = !isRecord(args) || Object.keys(args).length === 0;
  const facts = toolKindFacts(name, args, paths);
  if (pathProblem) return { ...facts, kind: "other", malformed: true, malformedReason: pathProblem, noEffect: true, writes: [], reads: [] };
  if (emptyArgs && facts.kind !== "message" && !FINISH_TOOLS.test(name) && !PROCESS_TOOLS.test(name)) {
    return { ...facts, kind: "other", malformed: true, malformedReason: "the call has no arguments", noEffect: true };
  }
  const content = isRecord(args) ? stringArg(args, ["content", "file_text", "new_string", "new_str", "text"]) : undefined;
  if (facts.kind === "change" && content !== undefined && paths[0]) {
    const contentProblem = isRecord(args) && typeof args.content === "string" ? garbledContent(paths[0], content) : undefined;
    return { ...facts, content, ...(contentProblem ? { malformed: true, malformedReason: contentProblem } : {}) };
  }
  return facts;
}

function toolKindFacts(name: string, args: unknown, paths: string[]): StepFacts {
  const subcommand = isRecord(args) && typeof args.command === "string" ? args.command : "";
  // OpenHands/SWE-agent editors carry the operation in a `command` argument.
  if (/str_replace_editor|^editor$|file_editor|str_replace_based_edit/i.test(name)) {
    const writes = /create|str_replace|insert|undo|write|edit/.test(subcommand);
    return writes ? base("change", "implementation", { writes: paths }) : base("explore", "inspection", { reads: paths });
  }
  if (PLAN_TOOLS.test(name)) return base("message", "inspection");
  if (FINISH_TOOLS.test(name)) return base("message", "finalization");
  if (CHANGE_TOOLS.test(name)) return base("change", "implementation", { writes: paths });
  if (VERIFY_TOOLS.test(name)) return base("verify", "verification", { reads: paths });
  if (/^(bashoutput|taskoutput)/i.test(name)) return base("verify", "verification");
  if (EXPLORE_TOOLS.test(name)) return base("explore", "inspection", { reads: paths });
  if (PROCESS_TOOLS.test(name)) return base("other", "implementation");
  const verb = leadingVerb(name);
  if (ACTING_VERBS.has(verb)) return base("change", "implementation", { writes: paths, acts: name });
  if (LOOKING_VERBS.has(verb)) return base("explore", "inspection", { reads: paths });
  return base("other", "inspection", { reads: paths });
}

function pathArgs(args: unknown): string[] {
  if (!isRecord(args)) return [];
  const paths: string[] = [];
  for (const key of ["file_path", "path", "filename", "file", "notebook_path", "target", "dest", "destination", "absolute_path"]) {
    if (typeof args[key] === "string") paths.push(args[key] as string);
  }
  return paths;
}

function stringArg(args: Record<string, unknown>, keys: string[]): string | undefined {
  for (const key of keys) if (typeof args[key] === "string") return args[key] as string;
  return undefined;
}

/** A shell line is as state-changing as its most state-changing simple command. */
export function shellFacts(command: string): StepFacts {
  const garble = garbledCommand(command);
  if (garble) {
    const intended = garble.intended ? parsedFacts(garble.intended) : base("other", "inspection");
    // A garbled line may still have run its tail (`: pwd && ls -la` lists); what it meant is the intent.
    const ran = garble.noEffect ? base("other", intended.purpose) : { ...intended, kind: intended.kind === "change" ? "change" as const : "other" as const };
    return { ...ran, intent: intended.kind, installs: intended.installs, malformed: true, malformedReason: garble.reason, noEffect: garble.noEffect, writes: garble.noEffect ? [] : ran.writes };
  }
  return parsedFacts(command);
}

function parsedFacts(command: string): StepFacts {
  const parsed = parseShell(command);
  if (parsed.malformed) return base("other", "inspection", { malformed: true, malformedReason: "the command line does not parse (unbalanced quotes)" });
  let best: CommandFacts | undefined;
  const merged = { writes: new Set<string>(), reads: new Set<string>(), installs: new Set<string>(), runs: new Set<string>() };
  let interactive = false;
  const all: CommandFacts[] = parsed.commands.map((simple) => withRedirects(commandFacts(simple, simple.piped === true), simple.redirects));
  for (const heredoc of parsed.heredocs) {
    if (heredoc.target) all.push({ ...inlineCodeFacts(""), kind: "change", purpose: "implementation", writes: [heredoc.target] });
    else if (heredoc.program && /^(python|node|ruby|perl|bash|sh|Rscript)/.test(heredoc.program)) all.push(inlineCodeFacts(heredoc.body));
  }
  for (const one of all) {
    one.writes.forEach((path) => merged.writes.add(path));
    one.reads.forEach((path) => merged.reads.add(path));
    one.installs.forEach((name) => merged.installs.add(name));
    one.runs.forEach((name) => merged.runs.add(name));
    interactive ||= one.interactive;
    if (!best || KIND_RANK[one.kind] > KIND_RANK[best.kind] || (one.kind === best.kind && one.purpose === "environment_setup")) best = one;
  }
  const kind: StepKind = merged.writes.size > 0 ? "change" : best?.kind ?? "other";
  const purpose: StageLabel = kind === "change" && best?.kind !== "change" ? "implementation" : best?.purpose ?? "inspection";
  const empty = parsed.commands.length === 0 && parsed.heredocs.length === 0;
  return base(kind, purpose, {
    writes: [...merged.writes],
    reads: [...merged.reads],
    installs: [...merged.installs],
    runs: [...merged.runs],
    interactive,
    ...(empty ? { malformed: true, malformedReason: "empty command", noEffect: true, kind: "other" } : {}),
  });
}

const NULL_SINKS = new Set(["/dev/null", "/dev/stdout", "/dev/stderr", "/dev/tty", "&1", "&2", "1", "2", "-"]);

/** Output redirections to real files make any command a change of those files. */
function withRedirects(facts: CommandFacts, redirects: { op: string; target: string }[]): CommandFacts {
  const files = redirects.filter((redirect) => /^(>|>>|&>|&>>|>\|)$/.test(redirect.op) && !NULL_SINKS.has(redirect.target)).map((redirect) => redirect.target);
  if (files.length === 0) return facts;
  return { ...facts, kind: "change", purpose: facts.kind === "change" ? facts.purpose : "implementation", writes: [...facts.writes, ...files] };
}
