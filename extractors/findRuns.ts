import { stat } from "node:fs/promises";
import path from "node:path";
import { glob } from "tinyglobby";
import { builtinExtractors } from "./index.js";
import { findRecordStreams } from "./synthesize/streams.js";
import type { Extractor, RunFiles } from "./types.js";

/**
 * A detect score at or above this means "this is a run of my family", even when the extractor could
 * not read it well enough to be chosen (e.g. a Harbor trial whose trajectory is missing).
 */
export const RUN_ROOT_THRESHOLD = 0.2;

export interface FoundRun {
  /** Path relative to the searched root ("." for the root itself), with `/`. */
  relative: string;
  absolute: string;
}

/** Files that may hold a log of a format no extractor knows yet (extractor synthesis reads JSON). */
const LOG_LIKE = /\.(json|jsonl|ndjson|traj)$/i;

/**
 * Every run below `root`: the topmost directories (or single files) that some extractor recognises.
 * A directory that is a run is not searched further. In a folder where nothing is recognised, each
 * JSON log that holds a stream of records is a run of its own (for extractor synthesis): a folder of
 * logs from an unseen agent system is a batch of runs, not one — unless the folder holds known runs,
 * in which case its loose files describe them. When nothing at all is found, the root
 * itself is the one run, so the user gets that run's error rather than an empty batch.
 */
export async function findRuns(root: string, extractors: Extractor[] = builtinExtractors): Promise<FoundRun[]> {
  const absoluteRoot = path.resolve(root);
  if ((await stat(absoluteRoot)).isFile()) {
    const single: RunFiles = { root: path.dirname(absoluteRoot), input: absoluteRoot, isFile: true, files: [path.basename(absoluteRoot)] };
    return runsOfFile(single, path.basename(absoluteRoot), extractors);
  }
  const files = (await glob("**/*", { cwd: absoluteRoot, dot: true, onlyFiles: true, ignore: ["**/node_modules/**", "**/.git/**"] })).sort();
  const found: FoundRun[] = [];
  await walk("", files, absoluteRoot, extractors, found);
  return found.length > 0 ? found : [{ relative: ".", absolute: absoluteRoot }];
}

async function walk(dir: string, files: string[], root: string, extractors: Extractor[], found: FoundRun[]): Promise<void> {
  const prefix = dir === "" ? "" : `${dir}/`;
  const inside = files.filter((file) => file.startsWith(prefix)).map((file) => file.slice(prefix.length));
  const absolute = path.join(root, dir);
  if (await recognised({ root: absolute, input: absolute, isFile: false, files: inside }, extractors)) {
    found.push({ relative: dir || ".", absolute });
    return;
  }
  const before = found.length;
  const unrecognised: RunFiles[] = [];
  for (const file of inside.filter((name) => !name.includes("/"))) {
    const single: RunFiles = { root: absolute, input: path.join(absolute, file), isFile: true, files: [file] };
    if (await recognised(single, extractors)) found.push(...(await runsOfFile(single, prefix + file, extractors)));
    else unrecognised.push(single);
  }
  const children = [...new Set(inside.filter((name) => name.includes("/")).map((name) => name.slice(0, name.indexOf("/"))))];
  for (const child of children) await walk(prefix + child, files, root, extractors, found);
  // Beside known runs, loose JSON files describe them (Harbor's result.json, OpenHands' patch.jsonl), not runs.
  if (found.length > before) return;
  for (const single of unrecognised) {
    if (await holdsRecords(single)) found.push({ relative: prefix + single.files[0]!, absolute: single.input });
  }
}

async function holdsRecords(single: RunFiles): Promise<boolean> {
  if (!LOG_LIKE.test(single.files[0]!)) return false;
  return (await findRecordStreams(single).catch(() => [])).length > 0;
}

async function recognised(run: RunFiles, extractors: Extractor[]): Promise<boolean> {
  for (const extractor of extractors) if ((await extractor.detect(run)) >= RUN_ROOT_THRESHOLD) return true;
  return false;
}

/**
 * A recognised file is one run, unless its format holds one run per line (OpenHands `output.jsonl`):
 * then each line is a run, named `<file>#L<line>` (nodes/discover.ts reads that back).
 */
async function runsOfFile(single: RunFiles, relative: string, extractors: Extractor[]): Promise<FoundRun[]> {
  for (const extractor of extractors) {
    if (!extractor.runLines || (await extractor.detect(single)) < RUN_ROOT_THRESHOLD) continue;
    const lines = await extractor.runLines(single).catch(() => []);
    if (lines.length > 1) return lines.map((line) => ({ relative: `${relative}#L${line}`, absolute: `${single.input}#L${line}` }));
  }
  return [{ relative, absolute: single.input }];
}
