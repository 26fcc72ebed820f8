import { stat } from "node:fs/promises";
import path from "node:path";
import { glob } from "tinyglobby";
import { builtinExtractors } from "./index.js";
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

/**
 * Every run below `root`: the topmost directories (or single files) that some extractor recognises.
 * A directory that is a run is not searched further. When nothing is recognised, the root itself is
 * the one run, so the user gets that run's error rather than an empty batch.
 */
export async function findRuns(root: string, extractors: Extractor[] = builtinExtractors): Promise<FoundRun[]> {
  const absoluteRoot = path.resolve(root);
  if ((await stat(absoluteRoot)).isFile()) return [{ relative: path.basename(absoluteRoot), absolute: absoluteRoot }];
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
  for (const file of inside.filter((name) => !name.includes("/"))) {
    const single: RunFiles = { root: absolute, input: path.join(absolute, file), isFile: true, files: [file] };
    if (await recognised(single, extractors)) found.push({ relative: prefix + file, absolute: single.input });
  }
  const children = [...new Set(inside.filter((name) => name.includes("/")).map((name) => name.slice(0, name.indexOf("/"))))];
  for (const child of children) await walk(prefix + child, files, root, extractors, found);
}

async function recognised(run: RunFiles, extractors: Extractor[]): Promise<boolean> {
  for (const extractor of extractors) if ((await extractor.detect(run)) >= RUN_ROOT_THRESHOLD) return true;
  return false;
}
