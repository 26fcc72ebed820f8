import { mkdir, rename, writeFile } from "node:fs/promises";
import path from "node:path";
import type { Analysis } from "../graphs/analyze.js";
import { renderReport } from "./report.js";

/** The five files `analyze` writes, in the order they are written. */
export const OUTPUT_FILES = ["trace.json", "diagnosis.json", "labels.json", "replay.json", "report.html"] as const;

/**
 * Write a file so that readers never see half of it: write a temp file beside it, then rename
 * (atomic on one filesystem). An interrupted write leaves the previous version intact.
 */
export async function writeFileAtomic(file: string, content: string): Promise<void> {
  const temp = `${file}.${process.pid}.${Math.random().toString(36).slice(2)}.tmp`;
  await writeFile(temp, content);
  await rename(temp, file);
}

export async function writeAnalysis(outDir: string, analysis: Analysis): Promise<void> {
  await mkdir(outDir, { recursive: true });
  const json = (value: unknown) => `${JSON.stringify(value, null, 2)}\n`;
  await writeFileAtomic(path.join(outDir, "trace.json"), json(analysis.trace));
  await writeFileAtomic(path.join(outDir, "diagnosis.json"), json(analysis.diagnosis));
  await writeFileAtomic(path.join(outDir, "labels.json"), json(analysis.labels));
  await writeFileAtomic(path.join(outDir, "replay.json"), json(analysis.replay));
  await writeFileAtomic(path.join(outDir, "report.html"), renderReport(analysis));
}
