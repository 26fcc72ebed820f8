import { Command } from "commander";
import { mkdir } from "node:fs/promises";
import path from "node:path";
import { learnEval } from "../evals/learn.js";
import { formatLearnTable, writeLearnReport } from "../evals/learnReport.js";
import { renderEvalReport, writeEvalReport } from "../evals/report.js";
import { readManifest } from "../evals/manifest.js";
import { runEval } from "../evals/run.js";
import { learnStageLengths } from "../evals/score.js";
import { crossCheck, formatCrossCheck, prepareRuns } from "../evals/tune.js";
import type { AnalysedRun, EvalResult } from "../evals/run.js";
import { formatEvalTable } from "../evals/table.js";
import { writeFileAtomic } from "../outputs/write.js";
import { UsageError } from "../schema/errors.js";
import { analyzeOptions, builtinOption, homeOption, jsonOption, llmOption, type CommonFlags } from "./options.js";

interface EvalFlags extends CommonFlags {
  out?: string;
  concurrency: string;
  json?: boolean;
  report?: string;
  learnStageLengths?: boolean;
  crossCheck?: string;
  learn?: string;
  pool?: string[];
  annotator?: string;
}

export function evalCommand(): Command {
  return new Command("eval")
    .description("score diagnoses against a labelled manifest (.jsonl) beside baselines; given a folder of runs, score stages against their reference stages")
    .argument("<manifest>", "eval manifest (one JSON record per line), or a folder of runs with reference stages (e.g. the normalized corpus)")
    .option("--out <dir>", "write eval.json and every run's outputs under <dir>/runs/")
    .option("--report <file>", "write an HTML page with the tables, the breakdowns and the failure-category confusion matrix")
    .option("--learn-stage-lengths", "print the expected stage length per run dialect learned from the gold stages (for analysis/stageLengths.ts)")
    .option("--cross-check <manifest>", "also check the scoring weights: defaults on both manifests, tuned on each and tested on the other, and leave-one-out")
    .option("--learn <k>", "measure learning from memory: k folds, each diagnosed cold and after importing the other folds' labels (temporary homes), with the learning curve")
    .option("--pool <manifests...>", "with --learn: pool these labelled manifests with the first one (e.g. the same tasks run by another agent)")
    .option("--annotator <manifest>", "another annotator's labels of the same runs (matched by id): scored beside CodeTracer, as how far two people agree")
    .option("--concurrency <n>", "runs analysed at once", "2")
    .addOption(llmOption().default("off"))
    .addOption(homeOption())
    .addOption(builtinOption())
    .addOption(jsonOption())
    .action(async (manifest: string, flags: EvalFlags) => {
      const concurrency = Number.parseInt(flags.concurrency, 10);
      if (!Number.isInteger(concurrency) || concurrency < 1) throw new UsageError("--concurrency must be a positive integer");
      if (flags.learn !== undefined) return learnCommand(manifest, flags, concurrency);
      if (flags.pool) throw new UsageError("--pool only goes with --learn");
      const secondAnnotator = flags.annotator ? new Map((await readManifest(flags.annotator)).map((record) => [record.id, record])) : undefined;
      let done = 0;
      const kept: AnalysedRun[] = [];
      // Eval must not teach the memory from the runs it is scoring, so nothing is remembered; and its
      // scores must not depend on what a home happens to remember, so memory is used only when named.
      const result = await runEval(manifest, {
        ...analyzeOptions(flags, false),
        recall: flags.home !== undefined,
        concurrency,
        ...(secondAnnotator ? { secondAnnotator } : {}),
        ...(flags.crossCheck ? { keep: (run: AnalysedRun) => kept.push(run) } : {}),
        ...(flags.out ? { out: flags.out } : {}),
        onRun: (run) => {
          done += 1;
          if (!flags.json && process.stderr.isTTY) process.stderr.write(`\r${done} runs scored (${run.id.slice(0, 50)})\u001b[K`);
        },
      });
      if (!flags.json && process.stderr.isTTY) process.stderr.write("\r\u001b[K");
      if (flags.out) {
        await mkdir(flags.out, { recursive: true });
        await writeFileAtomic(path.join(flags.out, "eval.json"), `${JSON.stringify(result, null, 2)}\n`);
      }
      if (flags.report) await writeEvalReport(flags.report, result);
      if (flags.learnStageLengths) {
        console.log(JSON.stringify(learnStageLengths(result.runs), null, 2));
        return;
      }
      if (flags.crossCheck) {
        const other: AnalysedRun[] = [];
        await runEval(flags.crossCheck, { ...analyzeOptions(flags, false), recall: flags.home !== undefined, concurrency, keep: (run) => other.push(run) });
        const byId = (runs: AnalysedRun[]) => [...runs].sort((a, b) => a.record.id.localeCompare(b.record.id));
        const check = crossCheck({ [path.basename(manifest)]: prepareRuns(byId(kept)), [path.basename(flags.crossCheck)]: prepareRuns(byId(other)) });
        if (!flags.json) console.log(`${formatEvalTable(result)}\n${formatCrossCheck(check)}`);
        else console.log(JSON.stringify(check, null, 2));
        return;
      }
      if (flags.json) {
        const { runs, ...summary } = result;
        console.log(JSON.stringify({ ...summary, errors: runs.filter((run) => run.status === "error").length }, null, 2));
      } else console.log(formatEvalTable(result));
    });
}

/** `eval --learn k`: cold against warm over k folds, in temporary homes (the user's --home is never touched). */
async function learnCommand(manifest: string, flags: EvalFlags, concurrency: number): Promise<void> {
  const folds = Number.parseInt(flags.learn!, 10);
  if (!Number.isInteger(folds) || folds < 2) throw new UsageError("--learn must be a number of folds of at least 2");
  if (flags.llm === "on") throw new UsageError("--learn measures the offline priors; it runs with --llm off");
  const progress = !flags.json && process.stderr.isTTY;
  let cold: EvalResult | undefined;
  const result = await learnEval([manifest, ...(flags.pool ?? [])], {
    folds,
    concurrency,
    builtin: flags.builtin,
    onCold: (evaluated) => (cold = evaluated),
    ...(progress ? { onPhase: (message: string) => process.stderr.write(`\r${message.slice(0, 100)}\u001b[K`) } : {}),
  });
  if (progress) process.stderr.write("\r\u001b[K");
  if (flags.out) {
    await mkdir(flags.out, { recursive: true });
    await writeFileAtomic(path.join(flags.out, "learn.json"), `${JSON.stringify(result, null, 2)}\n`);
  }
  // The page is the cold eval's (baselines, breakdowns), with the learning section and its curve added.
  if (flags.report && cold) await writeLearnReport(flags.report, renderEvalReport(cold), result);
  console.log(flags.json ? JSON.stringify(result, null, 2) : formatLearnTable(result));
}
