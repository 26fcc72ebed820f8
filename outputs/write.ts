import { mkdir, open, rename, rm } from "node:fs/promises";
import path from "node:path";
import type { Analysis } from "../graphs/analyze.js";
import { buildReplayMessages } from "./replayMessages.js";
import { reportChunks } from "./report.js";

/** The files `analyze` writes, in the order they are written. */
export const OUTPUT_FILES = ["trace.json", "diagnosis.json", "labels.json", "replay.json", "replay.messages.json", "report.html"] as const;

/**
 * Write a file so that readers never see half of it: write a temp file beside it, then rename
 * (atomic on one filesystem). An interrupted write leaves the previous version intact.
 */
export async function writeFileAtomic(file: string, content: string | Iterable<string>): Promise<void> {
  const temp = `${file}.${process.pid}.${Math.random().toString(36).slice(2)}.tmp`;
  // A file handle, not a write stream: a stream opens its file asynchronously, so a failure right
  // after it is created could remove the temp file before the open created it, leaving it behind.
  const handle = await open(temp, "w");
  try {
    // Chunk by chunk, batched to ~1 MB writes, so a 100 MB trace never exists as one string.
    let pending: string[] = [];
    let pendingLength = 0;
    for (const chunk of typeof content === "string" ? [content] : content) {
      pending.push(chunk);
      pendingLength += chunk.length;
      if (pendingLength < WRITE_BATCH) continue;
      await handle.write(pending.join(""));
      pending = [];
      pendingLength = 0;
    }
    if (pendingLength > 0) await handle.write(pending.join(""));
    await handle.close();
  } catch (err) {
    await handle.close().catch(() => undefined);
    await rm(temp, { force: true });
    throw err;
  }
  await rename(temp, file);
}

const WRITE_BATCH = 1 << 20;

/** JSON.stringify(value, null, 2) indented one level deeper, for splicing into a pretty document. */
function nested(value: unknown, depth: number): string {
  return JSON.stringify(value, null, 2).replace(/\n/g, `\n${"  ".repeat(depth)}`);
}

/**
 * trace.json in pieces, one step at a time; byte-identical to `JSON.stringify(trace, null, 2)`.
 * Steps are the bulk of a big trace, so only they are streamed.
 */
export function* traceJsonChunks(trace: Analysis["trace"]): Iterable<string> {
  const { steps, ...rest } = trace;
  const keys = Object.keys(trace);
  yield "{\n";
  for (const [position, key] of keys.entries()) {
    const comma = position < keys.length - 1 ? "," : "";
    if (key !== "steps") {
      yield `  ${JSON.stringify(key)}: ${nested(rest[key as keyof typeof rest], 1)}${comma}\n`;
      continue;
    }
    if (steps.length === 0) {
      yield `  "steps": []${comma}\n`;
      continue;
    }
    yield `  "steps": [\n`;
    for (const [index, step] of steps.entries()) yield `    ${nested(step, 2)}${index < steps.length - 1 ? "," : ""}\n`;
    yield `  ]${comma}\n`;
  }
  yield "}\n";
}

export async function writeAnalysis(outDir: string, analysis: Analysis): Promise<void> {
  await mkdir(outDir, { recursive: true });
  const json = (value: unknown) => `${JSON.stringify(value, null, 2)}\n`;
  await writeFileAtomic(path.join(outDir, "trace.json"), traceJsonChunks(analysis.trace));
  await writeFileAtomic(path.join(outDir, "diagnosis.json"), json(analysis.diagnosis));
  await writeFileAtomic(path.join(outDir, "labels.json"), json(analysis.labels));
  await writeFileAtomic(path.join(outDir, "replay.json"), json(analysis.replay));
  await writeFileAtomic(path.join(outDir, "replay.messages.json"), json(buildReplayMessages(analysis.trace, analysis.replay)));
  await writeFileAtomic(path.join(outDir, "report.html"), reportChunks(analysis));
}
