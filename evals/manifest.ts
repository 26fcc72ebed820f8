import { readFile } from "node:fs/promises";
import path from "node:path";
import { z } from "zod";
import { RunError, UsageError } from "../schema/errors.js";

/** A reference to one step: its id, a raw record (`path` + `pointer` or `line`), or a tool-call id. */
export const Ref = z.union([
  z.number().int(),
  z.object({ path: z.string(), pointer: z.string() }),
  z.object({ path: z.string(), line: z.number().int().min(1) }),
  z.object({ tool_id: z.string() }),
]);
export type Ref = z.infer<typeof Ref>;

export const ManifestLabels = z.object({
  onset: Ref.optional(),
  incorrect: z.array(Ref).optional(),
  unuseful: z.array(Ref).optional(),
  error_chain: z.array(Ref).optional(),
  stages: z.array(z.object({ start: Ref, end: Ref, label: z.string().optional() })).optional(),
  failure_category: z.string().optional(),
});
export type ManifestLabels = z.infer<typeof ManifestLabels>;

export const ManifestRecord = z.object({
  id: z.string(),
  path: z.string(),
  labels: ManifestLabels.default({}),
  /** Label files written by the annotation protocol keep the category beside `labels`; both are read. */
  failure_category: z.string().optional(),
});
export type ManifestRecord = z.infer<typeof ManifestRecord> & { /** `path` resolved against the manifest's folder. */ absolutePath: string };

/** Read a DESIGN eval manifest (JSONL). A record's path is relative to the manifest file. */
export async function readManifest(file: string): Promise<ManifestRecord[]> {
  const text = await readFile(file, "utf8").catch(() => {
    throw new UsageError(`${file}: cannot read the manifest`);
  });
  const records: ManifestRecord[] = [];
  text.split("\n").forEach((line, index) => {
    if (line.trim() === "") return;
    let json: unknown;
    try {
      json = JSON.parse(line);
    } catch {
      throw new RunError(`${file}:${index + 1}: not valid JSON`);
    }
    const parsed = ManifestRecord.safeParse(json);
    if (!parsed.success) {
      const issue = parsed.error.issues[0]!;
      throw new RunError(`${file}:${index + 1}: ${issue.path.join(".")}: ${issue.message}`);
    }
    records.push({ ...parsed.data, absolutePath: path.resolve(path.dirname(file), parsed.data.path) });
  });
  return records;
}

/** Does this look like an eval manifest (rather than a folder of runs)? */
export function isManifestPath(input: string): boolean {
  return /\.jsonl$/i.test(input);
}
