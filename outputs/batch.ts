import { existsSync } from "node:fs";
import { appendFile, mkdir, readFile } from "node:fs/promises";
import path from "node:path";
import pLimit from "p-limit";
import { z } from "zod";
import { findRuns } from "../extractors/findRuns.js";
import { isManifestPath, readManifest } from "../evals/manifest.js";
import { safeKey } from "../evals/run.js";
import { analyzeRun } from "../graphs/analyze.js";
import type { AnalyzeOptions } from "../graphs/state.js";
import { errorMessage } from "../schema/errors.js";
import { OUTPUT_FILES, writeAnalysis, writeFileAtomic } from "./write.js";

/** One line of `<out>/index.jsonl` (DESIGN contract). */
export const IndexRecord = z.object({
  run: z.string(),
  out: z.string(),
  format: z.string(),
  steps: z.number().int().min(0),
  status: z.enum(["ok", "error"]),
  error: z.string().optional(),
});
export type IndexRecord = z.infer<typeof IndexRecord>;

export interface BatchRun {
  /** Path relative to the input root, or the manifest record's id. */
  run: string;
  absolute: string;
  key: string;
}

/** The runs of a batch input: every run below a directory, or every record of an eval manifest. */
export async function batchRuns(input: string): Promise<BatchRun[]> {
  const entries = isManifestPath(input)
    ? (await readManifest(input)).map((record) => ({ run: record.id, absolute: record.absolutePath }))
    : (await findRuns(input)).map((found) => ({ run: found.relative === "." ? path.basename(path.resolve(input)) : found.relative, absolute: found.absolute }));
  const used = new Set<string>();
  return entries.map((entry) => {
    let key = safeKey(entry.run);
    for (let suffix = 2; used.has(key); suffix += 1) key = `${safeKey(entry.run)}-${suffix}`;
    used.add(key);
    return { ...entry, key };
  });
}

/** Records of an earlier (possibly killed) batch; a torn last line is ignored, not fatal. */
export async function readIndex(file: string): Promise<Map<string, IndexRecord>> {
  const records = new Map<string, IndexRecord>();
  if (!existsSync(file)) return records;
  for (const line of (await readFile(file, "utf8")).split("\n")) {
    if (!line.trim()) continue;
    try {
      const record = IndexRecord.parse(JSON.parse(line));
      records.set(record.run, record);
    } catch {
      // a line cut by a kill mid-write: that run is simply done again
    }
  }
  return records;
}

function isDone(record: IndexRecord | undefined, outDir: string): boolean {
  return record?.status === "ok" && OUTPUT_FILES.every((file) => existsSync(path.join(outDir, record.out, file)));
}

/**
 * Analyze every run of the input into `<out>/<run-key>/`, one index line per run. A run that fails
 * gets an error line and the others go on; runs finished by an earlier batch are skipped.
 */
export async function runBatch(
  input: string,
  out: string,
  options: AnalyzeOptions & { concurrency?: number; onStart?: (total: number, skipped: number) => void; onRun?: (record: IndexRecord) => void },
): Promise<IndexRecord[]> {
  await mkdir(out, { recursive: true });
  const indexFile = path.join(out, "index.jsonl");
  const previous = await readIndex(indexFile);
  const runs = await batchRuns(input);
  const todo = runs.filter((run) => !isDone(previous.get(run.run), out));
  options.onStart?.(runs.length, runs.length - todo.length);
  const limit = pLimit(Math.max(1, options.concurrency ?? 1));
  const fresh = new Map<string, IndexRecord>();
  await Promise.all(
    todo.map((run) =>
      limit(async () => {
        const record = await analyzeOne(run, out, options);
        fresh.set(run.run, record);
        // Appending one line per finished run keeps progress even if the batch is killed.
        await appendFile(indexFile, `${JSON.stringify(record)}\n`);
        options.onRun?.(record);
      }),
    ),
  );
  const records = runs.map((run) => fresh.get(run.run) ?? previous.get(run.run)!);
  // Compact to exactly one line per run, in input order.
  await writeFileAtomic(indexFile, records.map((record) => JSON.stringify(record)).join("\n") + (records.length ? "\n" : ""));
  return records;
}

/** Analyze one run into `<out>/<key>/`; a failure becomes an error record, never an exception. */
export async function analyzeOne(run: BatchRun, out: string, options: AnalyzeOptions): Promise<IndexRecord> {
  try {
    const analysis = await analyzeRun(run.absolute, options);
    await writeAnalysis(path.join(out, run.key), analysis);
    return { run: run.run, out: run.key, format: analysis.trace.run.format, steps: analysis.trace.steps.length, status: "ok" };
  } catch (err) {
    return { run: run.run, out: run.key, format: "unknown", steps: 0, status: "error", error: errorMessage(err) };
  }
}
