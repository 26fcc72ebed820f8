import type { Step } from "../schema/step.js";
import type { StepFacts } from "./classify.js";
import { basename, isTarget, normalizePath, type Targets } from "./targets.js";

/**
 * Which steps made what the checks test. Starting from the target files, it follows the files backwards:
 * the steps that wrote them, the agent's scripts whose runs wrote them (a script counts once it was run
 * and its text names the file), and the agent-made inputs those scripts or commands read. A script the
 * agent wrote but never ran made nothing.
 */
export interface Provenance {
  /** Step id → why it belongs to the making of a target. */
  lineage: Map<number, string>;
  /** The files followed: the targets the agent wrote, and the scripts and inputs behind them. */
  files: Set<string>;
  /** Some agent step wrote (or meant to write) a target file. */
  touchedTargets: boolean;
}

interface StepView {
  step: Step;
  facts: StepFacts;
  writes: string[];
  runs: string[];
  reads: string[];
  text: string;
}

const MAX_ROUNDS = 6;

export function provenance(steps: Step[], facts: StepFacts[], targets: Targets): Provenance {
  const views = agentViews(steps, facts);
  const writers = new Map<string, StepView[]>();
  for (const view of views) for (const file of view.writes) pushTo(writers, key(file), view);
  const contentOf = scriptContents(views);
  const lineage = new Map<number, string>();
  const files = new Set<string>();
  for (const view of views) {
    for (const file of [...view.writes, ...intendedWrites(view)]) {
      if (!isTarget(file, targets)) continue;
      files.add(key(file));
      if (!lineage.has(view.step.id)) lineage.set(view.step.id, `writes ${file}, which the task or a failing check names`);
    }
  }
  // Results never written directly may still be made by running a script that names them.
  for (const target of outputTargets(views, targets)) files.add(key(target));
  for (let round = 0; round < MAX_ROUNDS; round += 1) {
    const before = files.size + lineage.size;
    for (const view of views) {
      // A run of one of the agent's scripts whose text names a followed file made that file.
      for (const script of view.runs) {
        const scriptKey = key(script);
        const text = contentOf.get(scriptKey);
        const named = text !== undefined ? [...files].find((file) => mentions(text, file) || importsModuleOf(text, file)) : undefined;
        if (named || files.has(scriptKey)) {
          files.add(scriptKey);
          if (!lineage.has(view.step.id)) lineage.set(view.step.id, named ? `runs ${basename(script)}, which writes ${basename(named)}` : `runs ${basename(script)}`);
        }
      }
      // A command that made a followed file from agent-made inputs (`ffmpeg -i sample.mp4 … result.mp4`).
      if (view.writes.some((file) => files.has(key(file)))) {
        if (!lineage.has(view.step.id)) lineage.set(view.step.id, `writes ${view.writes.map(basename).join(", ")}`);
        for (const input of view.reads) if (writers.has(key(input))) files.add(key(input));
      }
    }
    // A followed script's inputs that the agent made itself (a mock page the scraper reads).
    for (const file of [...files]) {
      const text = contentOf.get(file);
      if (text === undefined) continue;
      // Only named files (with an extension): a bare word like `decomp` is too easily found in prose.
      for (const made of writers.keys()) if (made !== file && made.includes(".") && mentions(text, made)) files.add(made);
    }
    for (const file of files) {
      for (const writer of writers.get(file) ?? []) if (!lineage.has(writer.step.id)) lineage.set(writer.step.id, `writes ${basename(file)}, which goes into a checked result`);
    }
    if (files.size + lineage.size === before) break;
  }
  return { lineage, files, touchedTargets: lineage.size > 0 };
}

/**
 * Targets that are results rather than inputs: a file the agent read or ran before it changed
 * anything was there from the start (the task's input data, a provided script), so a script naming
 * it reads it rather than makes it.
 */
function outputTargets(views: StepView[], targets: Targets): string[] {
  const present = new Set<string>();
  for (const view of views) {
    if (view.facts.kind === "change") break;
    if (!view.facts.malformed && view.step.observation && !view.step.observation.is_error) for (const file of view.reads) present.add(key(file));
  }
  return targets.paths.filter((target) => basename(target).includes(".") && !present.has(key(target)));
}

function agentViews(steps: Step[], facts: StepFacts[]): StepView[] {
  const views: StepView[] = [];
  steps.forEach((step, index) => {
    const fact = facts[index]!;
    if (!isAgent(step) || !step.tool) return;
    views.push({
      step,
      facts: fact,
      writes: fact.writes.map(normalizePath).filter(Boolean),
      runs: fact.runs.map(normalizePath).filter(Boolean),
      reads: fact.reads.map(normalizePath).filter(Boolean),
      text: step.tool.command ?? "",
    });
  });
  return views;
}

/** A garbled or failed write still says which file the agent meant to make. */
function intendedWrites(view: StepView): string[] {
  if (!view.facts.malformed) return [];
  const path = pathArg(view.step.tool?.args);
  return path ? [normalizePath(path.replace(/^[:>,\s]+/, ""))] : [];
}

function pathArg(args: unknown): string | undefined {
  if (typeof args !== "object" || args === null) return undefined;
  const record = args as Record<string, unknown>;
  return typeof record.file_path === "string" ? record.file_path : typeof record.path === "string" ? record.path : undefined;
}

/** Everything the agent put into each file it wrote (whole writes and edits), by file key. */
function scriptContents(views: StepView[]): Map<string, string> {
  const contents = new Map<string, string>();
  for (const view of views) {
    const text = view.facts.content ?? heredocBody(view.text);
    if (!text) continue;
    for (const file of view.writes) contents.set(key(file), `${contents.get(key(file)) ?? ""}\n${text}`);
  }
  return contents;
}

function heredocBody(command: string): string | undefined {
  const start = command.indexOf("<<");
  return start >= 0 ? command.slice(start) : undefined;
}

/** Does a text name this file (by its path or, for a file with an extension, its name)? */
function mentions(text: string, file: string): boolean {
  const name = basename(file);
  if (text.includes(file)) return true;
  return name.includes(".") && name.length > 3 && new RegExp(`(^|[^\\w.-])${escapeRegExp(name)}($|[^\\w-])`).test(text);
}

/** Does a script import the module a followed Python file defines (`from book_scraper import …`)? */
function importsModuleOf(text: string, file: string): boolean {
  const module = /^([A-Za-z_]\w*)\.py$/.exec(basename(file))?.[1];
  return module !== undefined && new RegExp(`^\\s*(from\\s+${module}\\s+import|import\\s+${module}\\b)`, "m").test(text);
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

/** Files are followed by name: agents mix `/app/x.py`, `x.py` and `./x.py` for the same file. */
function key(file: string): string {
  return basename(normalizePath(file));
}

function pushTo<K, V>(map: Map<K, V[]>, keyValue: K, value: V): void {
  const list = map.get(keyValue);
  if (list) list.push(value);
  else map.set(keyValue, [value]);
}

export function isAgent(step: Step): boolean {
  return step.actor === "agent" || step.actor === "assistant";
}
