import type { Step } from "../schema/step.js";
import type { Outcome, ReferenceStage, Warnings } from "../schema/trace.js";

/** The files of one run, as discovered on disk. Paths in `files` are relative to `root`, with `/`. */
export interface RunFiles {
  /** Absolute path of the directory every source path is relative to. */
  root: string;
  /** Absolute path the user named (the run directory, or the single file). */
  input: string;
  isFile: boolean;
  files: string[];
  /**
   * For a file that holds several runs, one per line (an OpenHands evaluation `output.jsonl`): the
   * 1-based line of this run. Named on the command line as `<file>#L<line>`.
   */
  line?: number;
}

/** What an extractor returns: steps (ids from 1, kinds provisional until buildTree) and run facts. */
export interface ExtractedRun {
  steps: Step[];
  task?: string;
  outcome?: Outcome;
  warnings?: Warnings;
  reference_stages?: ReferenceStage[];
}

export interface Extractor {
  id: string;
  version: string;
  /** Human name of the format, shown in errors and in trace.json `run.format`. */
  format: string;
  /** 0 = cannot read this run, 1 = certainly its format. Cheap: looks at file names and small peeks. */
  detect(run: RunFiles): Promise<number>;
  extract(run: RunFiles): Promise<ExtractedRun>;
  /** For formats where one file holds several runs: the 1-based line each run is on (see `RunFiles.line`). */
  runLines?(run: RunFiles): Promise<number[]>;
}
