import type { Embeddings } from "@langchain/core/embeddings";
import { createHash } from "node:crypto";
import { readFile } from "node:fs/promises";
import path from "node:path";
import { z } from "zod";
import { analyzeRun } from "../graphs/analyze.js";
import { ManifestLabels, ManifestRecord } from "../evals/manifest.js";
import { resolveRef, resolveRefs } from "../evals/refs.js";
import { FailureCategory } from "../schema/diagnosis.js";
import { UsageError, errorMessage } from "../schema/errors.js";
import { caseDocument, caseFromAnalysis, type FailureCase } from "./failureCases.js";
import { FeedbackLog, type FeedbackEntry } from "./feedbackLog.js";
import { FAILURES, VectorMemory } from "./vectorStore.js";

/** Cases written to memory together: a run killed mid-import loses at most this many, redone next time. */
const FLUSH_EVERY = 16;

/** A manifest record as label sets write it: the category may sit beside `labels` rather than in it. */
const ImportRecord = ManifestRecord.extend({
  labels: ManifestLabels.default({}),
  failure_category: z.string().optional(),
});

export type ImportStatus = "imported" | "skipped" | "error";

export interface ImportEvent {
  id: string;
  status: ImportStatus;
  error?: string;
}

export interface ImportResult {
  manifest: string;
  records: number;
  imported: number;
  /** Runs whose same labels were imported before (a re-run after an interruption skips them). */
  skipped: number;
  errors: { id: string; error: string }[];
  /** Incorrect/unuseful labels that named no step of the extracted run (dropped). */
  unresolved_labels: number;
  confirmed_cases: number;
}

/**
 * Load a labelled manifest (DESIGN eval manifest) into memory as confirmed failure cases: analyze each
 * run offline, resolve its label refs to steps, build its case from the labels. A run that cannot be
 * analyzed or whose onset label names no step is reported and skipped; the rest go on.
 */
export async function importLabelledRuns(
  manifestPath: string,
  options: { home: string; embeddings?: Embeddings; onStart?: (records: number) => void; onRecord?: (event: ImportEvent) => void },
): Promise<ImportResult> {
  const { records, errors } = await readImportManifest(manifestPath);
  options.onStart?.(records.length + errors.length);
  errors.forEach((error) => options.onRecord?.({ ...error, status: "error" }));
  const memory = await VectorMemory.open(options.home, options.embeddings ? { embeddings: options.embeddings } : {});
  const log = new FeedbackLog(options.home);
  const result: ImportResult = { manifest: manifestPath, records: records.length + errors.length, imported: 0, skipped: 0, errors, unresolved_labels: 0, confirmed_cases: 0 };
  let pending: { failure: FailureCase; entry: FeedbackEntry }[] = [];
  const flush = async () => {
    if (pending.length === 0) return;
    await memory.add(FAILURES, pending.map(({ failure }) => caseDocument(failure)));
    // Logged after the cases are stored: a logged import is always in memory, so skipping it is safe.
    pending.forEach(({ entry }) => log.record(entry));
    pending = [];
  };
  try {
    for (const record of records) {
      const event = await importOne(record, memory, log, result).then(
        (prepared) => {
          if (prepared === "skipped") return { id: record.id, status: "skipped" as const };
          pending.push(prepared);
          return { id: record.id, status: "imported" as const };
        },
        (err: unknown) => ({ id: record.id, status: "error" as const, error: errorMessage(err) }),
      );
      if (event.status === "imported") result.imported += 1;
      if (event.status === "skipped") result.skipped += 1;
      if (event.status === "error") result.errors.push({ id: record.id, error: event.error });
      options.onRecord?.(event);
      if (pending.length >= FLUSH_EVERY) await flush();
    }
    await flush();
    result.confirmed_cases = memory.confirmedCount(FAILURES);
    return result;
  } finally {
    log.close();
    memory.close();
  }
}

type ImportRecord = z.infer<typeof ImportRecord> & { absolutePath: string };

/** Analyze one labelled run and build its confirmed case; "skipped" when the same labels are already in memory. */
async function importOne(record: ImportRecord, memory: VectorMemory, log: FeedbackLog, result: ImportResult): Promise<{ failure: FailureCase; entry: FeedbackEntry } | "skipped"> {
  const runKey = path.resolve(record.absolutePath);
  const category = FailureCategory.exclude(["none"]).safeParse(record.labels.failure_category ?? record.failure_category);
  const digest = sha256(JSON.stringify({ labels: record.labels, category: category.data ?? null }));
  if (log.hasImport(runKey, digest) && memory.get(FAILURES, runKey)?.metadata.confirmed === true) return "skipped";
  if (record.labels.onset === undefined) throw new Error("no onset label: a failure case needs one");

  // The offline view, without priors from what memory already holds: the case's calibration features
  // (and so what later runs learn from it) must not depend on the order runs were imported in.
  const { trace, diagnosis } = await analyzeRun(record.absolutePath, { llm: "off", home: memory.home, remember: false, builtin: true, recall: false });
  const onset = resolveRef(record.labels.onset, trace.steps);
  if (onset === undefined) throw new Error(`the onset label ${JSON.stringify(record.labels.onset)} names no step of the extracted run`);
  const incorrect = resolveRefs(record.labels.incorrect, trace.steps);
  const unuseful = resolveRefs(record.labels.unuseful, trace.steps);
  const chain = record.labels.error_chain ? resolveRefs(record.labels.error_chain, trace.steps).ids : undefined;
  result.unresolved_labels += incorrect.unresolved + unuseful.unresolved;

  const labels = {
    onset,
    incorrect: incorrect.ids,
    unuseful: unuseful.ids,
    ...(chain ? { error_chain: chain } : {}),
    ...(category.success ? { category: category.data } : {}),
  };
  const failure = caseFromAnalysis(trace, diagnosis, { confirmed: true, labels, source: "import", offline: true });
  const entry: FeedbackEntry = {
    run_key: failure.run,
    source: "import",
    onset,
    diagnosed_onset: diagnosis.onset?.step_id ?? null,
    incorrect: failure.labels.incorrect.map((step) => step.step_id),
    unuseful: failure.labels.unuseful.map((step) => step.step_id),
    category: failure.category,
    labels_digest: digest,
  };
  return { failure, entry };
}

/** Read the manifest leniently: a bad line is one error, the other records still import. */
async function readImportManifest(file: string): Promise<{ records: ImportRecord[]; errors: { id: string; error: string }[] }> {
  const text = await readFile(file, "utf8").catch(() => {
    throw new UsageError(`${file}: cannot read the manifest`);
  });
  const records: ImportRecord[] = [];
  const errors: { id: string; error: string }[] = [];
  text.split("\n").forEach((line, index) => {
    if (line.trim() === "") return;
    const where = `${path.basename(file)}:${index + 1}`;
    let json: unknown;
    try {
      json = JSON.parse(line);
    } catch {
      errors.push({ id: where, error: "not valid JSON" });
      return;
    }
    const parsed = ImportRecord.safeParse(json);
    if (!parsed.success) {
      const issue = parsed.error.issues[0]!;
      errors.push({ id: where, error: `${issue.path.join(".")}: ${issue.message}` });
      return;
    }
    records.push({ ...parsed.data, absolutePath: path.resolve(path.dirname(file), parsed.data.path) });
  });
  return { records, errors };
}

function sha256(text: string): string {
  return createHash("sha256").update(text).digest("hex");
}
