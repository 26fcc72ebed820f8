import type { Step } from "../schema/step.js";
import type { RunContext, Signal } from "./evidence.js";
import { callText, quote } from "./text.js";
import { isAgent } from "./provenance.js";
import { basename, isTarget, normalizePath } from "./targets.js";

/** Patterns of agent behaviour that explain failures: misused tools, workarounds, loops, claims. */
export function behaviourSignals(context: RunContext): Signal[] {
  return [
    ...missingDependency(context),
    ...workarounds(context),
    ...toolMisuse(context),
    ...repeats(context),
    ...rewrites(context),
    ...unverifiedCompletion(context),
    ...unusedArtifacts(context),
    ...fruitlessCalls(context),
  ];
}

/** The checks miss a module: the install that was garbled or failed, or else the first use of it. */
function missingDependency({ steps, facts, outcomes, missingModules }: RunContext): Signal[] {
  const signals: Signal[] = [];
  for (const module of missingModules) {
    const attempt = steps.findIndex((step, index) => isAgent(step) && facts[index]!.installs.includes(module) && (facts[index]!.malformed || outcomes[index]!.error));
    const installed = steps.some((step, index) => isAgent(step) && facts[index]!.installs.includes(module) && !facts[index]!.malformed && !outcomes[index]!.error);
    if (attempt >= 0 && !installed) {
      signals.push({ step_id: steps[attempt]!.id, signal: "missing_dependency", why: `meant to install ${module}, which the failing checks cannot import, but the install ${facts[attempt]!.malformed ? "was garbled" : "failed"}` });
      continue;
    }
    if (installed) continue;
    const use = steps.findIndex((step, index) => isAgent(step) && new RegExp(`\\b(import|from|require\\()\\s*['"]?${module}\\b`).test(facts[index]!.content ?? step.tool?.command ?? ""));
    if (use >= 0) signals.push({ step_id: steps[use]!.id, signal: "missing_dependency", why: `uses ${module}, which is never installed and which the failing checks cannot import` });
  }
  return signals;
}

const FABRICATION = /\b(mock(?:ed|ing|s)?|simulat(?:e|ed|es|ion|ing)|fake|dummy|synthetic|placeholder|hard-?coded|fabricat\w*|stub(?:bed)?|for demonstration|demonstration purposes|sample (?:video|data|file|page|html|dataset|results?))\b/i;
const GIVING_UP = /\b(blocked|unavailable|not available|isn'?t available|can(?:no|')t|unable to|not accessible|inaccessible|fail(?:ed|s|ing)? to|no (?:network|internet)|network (?:issue|error|problem)s?|bot (?:check|protection)|502|403|timed? out)\b/i;
/** How many calls back a failure may be for a substitute to count as a workaround for it. */
const WORKAROUND_WINDOW = 4;

/**
 * After something failed, the agent replaced the real thing with a stand-in (mock data, a simulated
 * result, a demo file): the run can no longer do what was asked, however well the rest goes.
 */
function workarounds({ steps, facts, outcomes, provenance: made }: RunContext): Signal[] {
  let narrative = "";
  const recentFailures: number[] = [];
  for (let index = 0; index < steps.length; index += 1) {
    const step = steps[index]!;
    if (!isAgent(step)) continue;
    narrative += ` ${step.thought ?? ""} ${step.text ?? ""}`;
    if (!step.tool) continue;
    const fact = facts[index]!;
    const said = `${narrative} ${fact.writes.map(basename).join(" ")} ${(fact.content ?? "").slice(0, 400)}`;
    const failedBefore = recentFailures.length > 0;
    // A stand-in matters when it went into the result (or when nothing says what the result is).
    const feedsResult = made.lineage.size === 0 || made.lineage.has(step.id);
    if ((fact.kind === "change" || fact.intent === "change") && feedsResult && FABRICATION.test(said) && (failedBefore || GIVING_UP.test(narrative))) {
      const word = FABRICATION.exec(said)![0];
      return [{ step_id: step.id, signal: "workaround_fabrication", why: `after a failure the agent substitutes a stand-in ("${word}") for the real thing: ${quote(callText(step))}` }];
    }
    if (outcomes[index]!.error) recentFailures.push(index);
    while (recentFailures.length > 0 && countToolSteps(steps, recentFailures[0]!, index) > WORKAROUND_WINDOW) recentFailures.shift();
    narrative = "";
  }
  return [];
}

function countToolSteps(steps: Step[], from: number, to: number): number {
  return steps.slice(from + 1, to + 1).filter((step) => step.tool).length;
}

const SERVER = /\b(node|deno|bun|python3?|uvicorn|gunicorn|flask|npm|yarn|pnpm|ruby|rails|php|java|go|cargo|http-server|serve)\b.*\b(serve|server|app|start|run|listen|\.js|\.py|-m http\.server)\b|\b(server|app)\.(js|py|ts)\b/i;

/** Interactive programs through a tool with no terminal; services tied to the agent's session. */
function toolMisuse({ steps, facts, serviceDown }: RunContext): Signal[] {
  const signals: Signal[] = [];
  steps.forEach((step, index) => {
    if (!isAgent(step) || !step.tool) return;
    const fact = facts[index]!;
    if (fact.interactive) signals.push({ step_id: step.id, signal: "interactive_misuse", why: `${quote(callText(step))} starts an interactive program through a tool that has no terminal: it hangs` });
    if (fact.background && serviceDown && SERVER.test(step.tool.command ?? "")) {
      signals.push({ step_id: step.id, signal: "session_bound_service", why: `starts the service as a background job of the agent's session (${quote(callText(step))}); it dies with the session, and the checks cannot connect` });
    }
  });
  return signals;
}

/** The same call made again with nothing changed in between that could alter its result. */
function repeats({ steps, facts }: RunContext): Signal[] {
  const signals: Signal[] = [];
  const seen = new Map<string, number>();
  steps.forEach((step, index) => {
    if (!isAgent(step) || !step.tool) return;
    if (facts[index]!.kind === "change") seen.clear();
    const key = `${step.tool.name}\u0000${callText(step).trim()}`;
    const earlier = seen.get(key);
    if (earlier !== undefined) signals.push({ step_id: step.id, signal: "repeated_call", why: `repeats the identical call of step ${earlier}` });
    else seen.set(key, step.id);
  });
  return signals;
}

const WHOLE_FILE_WRITE = /^(write|create|write_file|create_file)$/i;

/** Writes that a later whole-file write replaced, and edits a later command reverted. */
function rewrites({ steps, facts }: RunContext): Signal[] {
  const signals: Signal[] = [];
  const lastWrite = new Map<string, number>();
  steps.forEach((step, index) => {
    if (!isAgent(step) || !step.tool) return;
    const fact = facts[index]!;
    const command = step.tool.command ?? "";
    for (const file of fact.writes.map(normalizePath)) {
      const earlier = lastWrite.get(file);
      const replaces = WHOLE_FILE_WRITE.test(step.tool.name) || /(^|[^>])>\s*\S/.test(command);
      if (earlier !== undefined && replaces) signals.push({ step_id: earlier, signal: "overwritten_edit", why: `${basename(file)} was rewritten from scratch at step ${step.id}` });
      lastWrite.set(file, step.id);
    }
    const reverted = /\bgit\s+(checkout\s+(--\s+)?|restore\s+)(\S+)/.exec(command);
    if (reverted) {
      const file = normalizePath(reverted[3]!);
      for (const [written, id] of lastWrite) {
        if (written === file || basename(written) === basename(file)) signals.push({ step_id: id, signal: "reverted_edit", why: `the change to ${basename(written)} was reverted at step ${step.id}` });
      }
    }
  });
  return signals;
}

const CLAIM = /\b(successfully|complete[ds]?|done|finished|implemented|created|ready|works|working|all (?:tests|requirements|checks)|accomplished|solved)\b|✅/i;
const PLAN_TOOL = /^(todowrite|update_plan|plan)$/i;

/**
 * The run ends with the agent claiming success: in its last message, or by marking its whole plan
 * done (Claude Code's TodoWrite) after its last change. Incorrect in a failed run; worse when nothing
 * checked what it made since its last change.
 */
function unverifiedCompletion({ steps, facts, outcomes, failed }: RunContext): Signal[] {
  if (failed !== true) return [];
  const lastAction = findLastIndex(steps, (step, index) => isAgent(step) && !!step.tool && facts[index]!.kind !== "message");
  const lastChange = findLastIndex(steps, (step, index) => isAgent(step) && facts[index]!.kind === "change");
  const claims = [
    steps.findIndex((step, index) => index > lastAction && isAgent(step) && !step.tool && CLAIM.test(step.text ?? "")),
    findLastIndex(steps, (step, index) => index > lastChange && isAgent(step) && PLAN_TOOL.test(step.tool?.name ?? "") && planAllDone(step.tool?.args)),
  ].filter((index) => index >= 0);
  return claims.map((claim) => {
    const verified = steps.some((step, index) => index > lastChange && index < claim && facts[index]!.kind === "verify" && outcomes[index]!.progress);
    const why = verified ? "declares the task complete, but the failing checks show it is not" : "declares the task complete without checking what it made since its last change";
    return { step_id: steps[claim]!.id, signal: "unverified_completion" as const, why };
  });
}

/** A plan whose every item is marked completed. */
function planAllDone(args: unknown): boolean {
  const todos = (args as { todos?: unknown } | undefined)?.todos;
  return Array.isArray(todos) && todos.length > 0 && todos.every((todo) => (todo as { status?: unknown })?.status === "completed");
}

/** Scripts and files the agent wrote and then never ran, read, or used again (and no check names). */
function unusedArtifacts({ steps, facts, targets }: RunContext): Signal[] {
  const signals: Signal[] = [];
  steps.forEach((step, index) => {
    if (!isAgent(step) || !step.tool || facts[index]!.kind !== "change" || step.tool.command !== undefined) return;
    for (const file of facts[index]!.writes.map(normalizePath)) {
      if (isTarget(file, targets)) continue;
      const name = basename(file);
      const usedLater = steps.slice(index + 1).some((later, offset) => {
        const laterFacts = facts[index + 1 + offset]!;
        if (laterFacts.writes.map(normalizePath).includes(file) && !laterFacts.reads.length && later.tool?.command === undefined) return false;
        return callText(later).includes(name) || (laterFacts.content ?? "").includes(name.replace(/\.\w+$/, ""));
      });
      if (!usedLater) signals.push({ step_id: step.id, signal: "unused_artifact", why: `writes ${name}, which nothing later runs, reads or uses` });
    }
  });
  return signals;
}

/** Output that says a probe found nothing or could not even start. */
const NOTHING_FOUND = /^\s*(\(\w+ completed with no output\)|no (files|matches) found|\s*)\s*$/i;
const PROBE_FAILED = /command not found|No such process|is not running|not installed/i;

/**
 * Calls that gathered nothing: a search that came back empty right after another empty one (a loop
 * of guesses), or a probe of a tool or process that is not there.
 */
function fruitlessCalls({ steps, facts, outcomes }: RunContext): Signal[] {
  const signals: Signal[] = [];
  let previousEmpty = false;
  steps.forEach((step, index) => {
    if (!isAgent(step) || !step.tool || facts[index]!.kind === "message" || facts[index]!.malformed) return;
    const text = step.observation?.text ?? "";
    const empty = facts[index]!.kind === "explore" && !outcomes[index]!.error && NOTHING_FOUND.test(text.replace(/\[metadata\].*$/s, ""));
    if (empty && previousEmpty) signals.push({ step_id: step.id, signal: "fruitless_call", why: "another search that finds nothing, right after one that found nothing" });
    else if (outcomes[index]!.error && facts[index]!.kind !== "change" && PROBE_FAILED.test(text.slice(0, 300))) signals.push({ step_id: step.id, signal: "fruitless_call", why: `probes for something that is not there: ${quote(text)}` });
    previousEmpty = empty;
  });
  return signals;
}

function findLastIndex<T>(items: T[], predicate: (item: T, index: number) => boolean): number {
  for (let index = items.length - 1; index >= 0; index -= 1) if (predicate(items[index]!, index)) return index;
  return -1;
}
