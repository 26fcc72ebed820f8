import { existsSync } from "node:fs";
import { mkdir, readFile, realpath } from "node:fs/promises";
import path from "node:path";
import type { z } from "zod";
import { safeKey } from "../evals/run.js";
import { IndexRecord, analyzeOne, readIndex } from "../outputs/batch.js";
import { OUTPUT_FILES, writeFileAtomic } from "../outputs/write.js";
import type { AnalyzeOptions } from "../graphs/state.js";
import { Diagnosis } from "../schema/diagnosis.js";
import { ReplayPlan } from "../schema/replay.js";
import { RunError, UsageError, errorMessage } from "../schema/errors.js";
import { Trace } from "../schema/trace.js";

/**
 * A results folder as the server sees it: the `--out` of `batch` (an index.jsonl and a folder per
 * run) or of `analyze` (the output files themselves). Runs are addressed by their index key only, so
 * a request can never name a path outside the folder.
 */

/** The key of the one run in an `analyze --out` folder. */
export const SINGLE_RUN_KEY = "run";

export type OutputFile = (typeof OUTPUT_FILES)[number];

export interface RunEntry extends IndexRecord {
  /** What a list shows of the diagnosis; absent when the run errored or its diagnosis is unreadable. */
  diagnosis?: Pick<Diagnosis, "failed" | "onset" | "failure_category">;
  /** Why the run's output could not be read, for a run the index says is ok. */
  unreadable?: string;
}

export interface RunDetail {
  key: string;
  run: Trace["run"];
  steps: number;
  stages: Trace["stages"];
  diagnosis: Diagnosis;
  replay: ReplayPlan;
}

export async function listRuns(root: string): Promise<RunEntry[]> {
  return Promise.all((await indexRecords(root)).map((record) => withDiagnosis(root, record)));
}

export async function runDetail(root: string, key: string): Promise<RunDetail> {
  const folder = await runFolder(root, key);
  const trace = await readOutput(folder, "trace.json", Trace);
  return {
    key,
    run: trace.run,
    steps: trace.steps.length,
    stages: trace.stages,
    diagnosis: await readOutput(folder, "diagnosis.json", Diagnosis),
    replay: await readOutput(folder, "replay.json", ReplayPlan),
  };
}

/** The folder holding a run's output files: an unknown key is NotFound, a run that errored a RunError. */
export async function runFolder(root: string, key: string): Promise<string> {
  // A single analyze folder is its own run: no need to parse its trace.json just to find it.
  if (isAnalyzeFolder(root)) {
    if (key !== SINGLE_RUN_KEY) throw new NotFound(`no run "${key}" in ${root}`);
    return root;
  }
  const record = (await indexRecords(root)).find((candidate) => candidate.out === key);
  if (!record) throw new NotFound(`no run "${key}" in ${root}`);
  if (record.status === "error") throw new RunError(`run "${key}" could not be analyzed: ${record.error ?? "unknown error"}`);
  return folderOf(root, record);
}

function folderOf(root: string, record: IndexRecord): string {
  return record.out === SINGLE_RUN_KEY && isAnalyzeFolder(root) ? root : path.join(root, record.out);
}

export function isOutputFile(name: string): name is OutputFile {
  return (OUTPUT_FILES as readonly string[]).includes(name);
}

/** A request named something the results folder does not hold. */
export class NotFound extends Error {
  override name = "NotFound";
}

/**
 * Analyze one run below `runsRoot` into the results folder, like one run of `batch`: its outputs go
 * to `<root>/<key>/` and its line into index.jsonl (replacing an earlier line for the same run).
 * `run` is relative to `runsRoot` and may not leave it.
 */
export async function analyzeInto(root: string, runsRoot: string, run: string, options: AnalyzeOptions): Promise<IndexRecord> {
  if (isAnalyzeFolder(root)) throw new UsageError(`${root} holds a single analyze output; serve a batch folder (or a new one) to analyze runs into it`);
  const relative = relativeInside(runsRoot, path.resolve(runsRoot, run));
  if (relative === undefined) throw new UsageError(`"${run}" is not a run below ${runsRoot}`);
  const absolute = path.join(path.resolve(runsRoot), relative);
  // A symlink inside the root may not lead the analysis to files outside it.
  const real = await realpath(absolute).catch(() => undefined);
  if (!real) throw new NotFound(`no file or folder "${run}" below ${runsRoot}`);
  if (relativeInside(await realpath(runsRoot), real) === undefined) throw new UsageError(`"${run}" leads outside ${runsRoot}`);
  const name = relative.split(path.sep).join("/");
  const index = await readIndex(path.join(root, "index.jsonl"));
  const key = index.get(name)?.out ?? freeKey(name, new Set([...index.values()].map((record) => record.out)));
  await mkdir(root, { recursive: true });
  const record = await analyzeOne({ run: name, absolute, key }, root, options);
  index.set(name, record);
  const lines = [...index.values()].map((line) => JSON.stringify(line));
  await writeFileAtomic(path.join(root, "index.jsonl"), `${lines.join("\n")}\n`);
  return record;
}

/** `target` relative to `root`, or undefined when it is the root itself or outside it. */
function relativeInside(root: string, target: string): string | undefined {
  const relative = path.relative(path.resolve(root), target);
  return relative === "" || relative === ".." || relative.startsWith(`..${path.sep}`) || path.isAbsolute(relative) ? undefined : relative;
}

function freeKey(run: string, used: Set<string>): string {
  let key = safeKey(run);
  for (let suffix = 2; used.has(key) || key === SINGLE_RUN_KEY; suffix += 1) key = `${safeKey(run)}-${suffix}`;
  return key;
}

function isAnalyzeFolder(root: string): boolean {
  return !existsSync(path.join(root, "index.jsonl")) && existsSync(path.join(root, "trace.json"));
}

async function indexRecords(root: string): Promise<IndexRecord[]> {
  if (isAnalyzeFolder(root)) return [await singleRunRecord(root)];
  return [...(await readIndex(path.join(root, "index.jsonl"))).values()].map(withinRoot);
}

/** A results folder may come from someone else: an index line may not point the server outside it. */
function withinRoot(record: IndexRecord): IndexRecord {
  if (record.out === safeKey(record.out)) return record;
  return { ...record, status: "error", error: `index.jsonl names the output folder "${record.out}", which is not a folder inside the results` };
}

async function singleRunRecord(root: string): Promise<IndexRecord> {
  try {
    const trace = await readOutput(root, "trace.json", Trace);
    return { run: trace.run.path, out: SINGLE_RUN_KEY, format: trace.run.format, steps: trace.steps.length, status: "ok" };
  } catch (err) {
    return { run: path.basename(root), out: SINGLE_RUN_KEY, format: "unknown", steps: 0, status: "error", error: errorMessage(err) };
  }
}

async function withDiagnosis(root: string, record: IndexRecord): Promise<RunEntry> {
  if (record.status !== "ok") return record;
  try {
    const { failed, onset, failure_category } = await readOutput(folderOf(root, record), "diagnosis.json", Diagnosis);
    return { ...record, diagnosis: { failed, onset, failure_category } };
  } catch (err) {
    return { ...record, unreadable: errorMessage(err) };
  }
}

async function readOutput<T extends z.ZodType>(folder: string, file: OutputFile, schema: T): Promise<z.infer<T>> {
  const where = path.join(folder, file);
  let text: string;
  try {
    text = await readFile(where, "utf8");
  } catch {
    throw new NotFound(`${where} is missing`);
  }
  try {
    return schema.parse(JSON.parse(text));
  } catch (err) {
    throw new RunError(`${where} is not a valid ${file}: ${errorMessage(err).slice(0, 300)}`);
  }
}
