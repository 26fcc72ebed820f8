import { existsSync } from "node:fs";
import { stat } from "node:fs/promises";
import path from "node:path";
import { glob } from "tinyglobby";
import { looksBinary, peek } from "../extractors/io.js";
import type { RunFiles } from "../extractors/types.js";
import { RunError } from "../schema/errors.js";
import type { DiagnoseStateType, DiagnoseUpdate } from "../graphs/state.js";

/** A run directory with more files than this is probably not one run (e.g. a whole results tree). */
const MAX_FILES = 50_000;

/** Find the files of the run the user named; refuse what cannot be a run, with the reason. */
export async function discover(state: DiagnoseStateType): Promise<DiagnoseUpdate> {
  return { run: await discoverRun(state.input) };
}

/** `<file>#L<n>`: the run on line n of a file that holds one run per line (extractors/types.ts `RunFiles.line`). */
const LINE_OF_FILE = /^(.*)#L(\d+)$/;

export async function discoverRun(input: string): Promise<RunFiles> {
  const lineOf = LINE_OF_FILE.exec(input);
  if (lineOf && !existsSync(path.resolve(input))) {
    const run = await discoverRun(lineOf[1]!);
    if (!run.isFile) throw new RunError(`${input}: #L<line> names a line of a file, and ${lineOf[1]} is a directory`);
    // `input` stays the real file (extractors peek at it); `line` says which of its runs this is.
    return { ...run, line: Number(lineOf[2]) };
  }
  const absolute = path.resolve(input);
  const info = await stat(absolute).catch(() => {
    throw new RunError(`${input}: no such file or directory`);
  });
  if (info.isFile()) {
    if (info.size === 0) throw new RunError(`${input}: the file is empty`);
    if (looksBinary(await peek(absolute))) throw new RunError(`${input}: a binary file, not an agent log`);
    return { root: path.dirname(absolute), input: absolute, isFile: true, files: [path.basename(absolute)] };
  }
  if (!info.isDirectory()) throw new RunError(`${input}: neither a file nor a directory`);
  const files = (await glob("**/*", { cwd: absolute, dot: true, onlyFiles: true, ignore: ["**/node_modules/**", "**/.git/**"] })).sort();
  if (files.length === 0) throw new RunError(`${input}: the directory is empty`);
  if (files.length > MAX_FILES) throw new RunError(`${input}: ${files.length} files; that is not one run (use \`codetracer batch\` for a tree of runs)`);
  return { root: absolute, input: absolute, isFile: false, files };
}
