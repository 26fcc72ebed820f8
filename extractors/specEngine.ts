import { RunError } from "../schema/errors.js";
import { parseSpec, type ExtractorSpec } from "../schema/extractorSpec.js";
import type { SourceRef, Step } from "../schema/step.js";
import { isRecord, WarningLog } from "./io.js";
import { matchesAnyFile, streamFiles, streamUnits } from "./specEngineRecords.js";
import { specOutcome, specTask } from "./specEngineOutcome.js";
import { emptyStats, StepAssembler, type AssemblyStats, type DraftStep } from "./specEngineSteps.js";
import { at } from "./specEngineValues.js";
import type { ExtractedRun, Extractor, RunFiles } from "./types.js";

/**
 * The one engine that interprets extractor specs: records located by the spec's streams, turned into
 * Steps by its rules, with exact `sources`. Built-in formats written as specs and synthesized specs
 * run through exactly this code.
 */

/** What the engine saw besides the steps: every record it read, for validation and coverage. */
export interface SpecRunReport {
  /** Source of every record read (after explosion), in order. */
  records: SourceRef[];
  stats: AssemblyStats;
  files: string[];
}

export interface SpecExtraction {
  extracted: ExtractedRun;
  report: SpecRunReport;
}

export function sourceKey(source: SourceRef): string {
  return `${source.path}\u0000${source.line ?? ""}\u0000${source.pointer ?? ""}`;
}

export async function runSpec(spec: ExtractorSpec, run: RunFiles): Promise<SpecExtraction> {
  const warnings = new WarningLog();
  const records: SourceRef[] = [];
  const stats = emptyStats();
  const drafts: Array<{ step: DraftStep; splitGroup?: string }> = [];
  const files: string[] = [];
  for (const [index, stream] of spec.streams.entries()) {
    files.push(...streamFiles(stream, run));
    const assembler = new StepAssembler(stream, warnings);
    for await (const unit of streamUnits(stream, run, warnings, spec.max_records)) {
      records.push(unit.source);
      assembler.add(unit);
    }
    for (const draft of assembler.finish()) drafts.push({ step: draft.step, ...(draft.splitGroup ? { splitGroup: `${index}:${draft.splitGroup}` } : {}) });
    for (const key of Object.keys(stats) as Array<keyof AssemblyStats>) stats[key] += assembler.stats[key];
  }
  const steps = numberSteps(drafts);
  if (spec.clip_chars !== undefined) for (const step of steps) clipStep(step, spec.clip_chars);
  const extracted: ExtractedRun = { steps, warnings: warnings.toJSON() };
  const task = await specTask(spec, run, steps);
  if (task !== undefined) extracted.task = task;
  const outcome = await specOutcome(spec, run);
  if (outcome) extracted.outcome = outcome;
  return { extracted, report: { records, stats, files: [...new Set(files)] } };
}

/**
 * Ids from 1 in order. Steps cut from one record's tool-call array share a parallel group (the id
 * of the first); a group named by the spec is kept only where two or more steps share it.
 */
function numberSteps(drafts: Array<{ step: DraftStep; splitGroup?: string }>): Step[] {
  const steps: Step[] = drafts.map(({ step }, index) => ({ id: index + 1, ...step }));
  const firstOfSplit = new Map<string, number>();
  drafts.forEach(({ splitGroup }, index) => {
    if (splitGroup === undefined) return;
    if (!firstOfSplit.has(splitGroup)) firstOfSplit.set(splitGroup, index + 1);
    steps[index]!.parallel_group = firstOfSplit.get(splitGroup)!;
  });
  const named = new Map<string | number, number>();
  for (const step of steps) if (step.parallel_group !== undefined) named.set(step.parallel_group, (named.get(step.parallel_group) ?? 0) + 1);
  for (const step of steps) if (step.parallel_group !== undefined && named.get(step.parallel_group)! < 2) delete step.parallel_group;
  return steps;
}

/** Text kept from a clipped value: the end of a long output often says how it ended. */
const CLIP_TAIL_SHARE = 0.25;

export function clipText(text: string, max: number): string {
  if (text.length <= max) return text;
  const tail = Math.floor(max * CLIP_TAIL_SHARE);
  return `${text.slice(0, max - tail)}\n…[${text.length - max} chars omitted]…\n${text.slice(text.length - tail)}`;
}

function clipStrings(value: unknown, max: number): unknown {
  if (typeof value === "string") return clipText(value, max);
  if (Array.isArray(value)) return value.map((item) => clipStrings(item, max));
  if (isRecord(value)) return Object.fromEntries(Object.entries(value).map(([key, inner]) => [key, clipStrings(inner, max)]));
  return value;
}

function clipStep(step: Step, max: number): void {
  if (step.text !== undefined) step.text = clipText(step.text, max);
  if (step.thought !== undefined) step.thought = clipText(step.thought, max);
  if (step.observation) step.observation.text = clipText(step.observation.text, max);
  if (step.tool?.args !== undefined) step.tool.args = clipStrings(step.tool.args, max);
  if (step.tool?.command !== undefined) step.tool.command = clipText(step.tool.command, max);
}

/**
 * 0..1: how sure this spec reads the run. Required files and keys are checked cheaply (the first
 * record of the first stream); a spec with no detect section only asks that its stream has files.
 */
export async function detectSpec(spec: ExtractorSpec, run: RunFiles): Promise<number> {
  const required = spec.detect?.files ?? [];
  if (!required.every((glob) => matchesAnyFile(glob, run))) return 0;
  const first = spec.streams[0]!;
  if (streamFiles(first, run).length === 0) return 0;
  const keys = spec.detect?.keys ?? [];
  if (keys.length === 0) return required.length > 0 ? 0.7 : 0.5;
  try {
    for await (const unit of streamUnits({ ...first, explode: undefined }, run, new WarningLog(), 1)) {
      return keys.every((key) => at(unit.value, key) !== undefined) ? 0.9 : 0;
    }
  } catch {
    return 0;
  }
  return 0;
}

/** A spec as an Extractor: what the graph and the CLI run. */
export function specExtractor(spec: ExtractorSpec, version = "1"): Extractor {
  return {
    id: spec.id,
    version,
    format: spec.format,
    detect: (run) => detectSpec(spec, run),
    extract: async (run) => (await runSpec(spec, run)).extracted,
  };
}

/** Parse raw spec data (a file, a registry row, an LLM answer) into an Extractor, or fail with the field that was wrong. */
export function extractorFromSpecData(raw: unknown, version = "1"): Extractor {
  const parsed = parseSpec(raw);
  if (!parsed.ok) throw new RunError(`invalid extractor spec: ${parsed.error}`);
  return specExtractor(parsed.spec, version);
}
