import { Command } from "commander";
import { SingleBar, Presets } from "cli-progress";
import { runBatch, type IndexRecord } from "../outputs/batch.js";
import { UsageError } from "../schema/errors.js";
import { analyzeOptions, builtinOption, homeOption, jsonOption, llmOption, type CommonFlags } from "./options.js";

export function batchCommand(): Command {
  return new Command("batch")
    .description("analyze every run below a directory (or in an eval manifest); re-running skips finished runs")
    .argument("<dir-or-manifest>", "a folder of runs, or a manifest .jsonl")
    .requiredOption("--out <dir>", "output folder: <out>/<run-key>/… and <out>/index.jsonl")
    .option("--concurrency <n>", "runs analysed at once", "2")
    .addOption(llmOption())
    .addOption(homeOption())
    .addOption(builtinOption())
    .addOption(jsonOption())
    .action(async (input: string, flags: CommonFlags & { out: string; concurrency: string; json?: boolean }) => {
      const concurrency = Number.parseInt(flags.concurrency, 10);
      if (!Number.isInteger(concurrency) || concurrency < 1) throw new UsageError("--concurrency must be a positive integer");
      const progress = progressReporter(!flags.json);
      const records = await runBatch(input, flags.out, { ...analyzeOptions(flags), concurrency, onStart: progress.start, onRun: progress.tick });
      progress.stop();
      const failed = records.filter((record) => record.status === "error");
      if (flags.json) console.log(JSON.stringify({ runs: records.length, ok: records.length - failed.length, error: failed.length, index: `${flags.out}/index.jsonl` }));
      else {
        console.log(`${records.length} runs: ${records.length - failed.length} ok, ${failed.length} error → ${flags.out}/index.jsonl`);
        for (const record of failed.slice(0, 20)) console.log(`  error  ${record.run}: ${record.error}`);
        if (failed.length > 20) console.log(`  … and ${failed.length - 20} more errors in index.jsonl`);
      }
    });
}

/** A progress bar on a terminal; a line per run otherwise (so logs of long batches show life). */
function progressReporter(enabled: boolean) {
  const tty = enabled && process.stderr.isTTY;
  const bar = new SingleBar({ format: "{bar} {value}/{total} runs · {ok} ok · {errors} errors · {last}", hideCursor: true, stream: process.stderr }, Presets.shades_classic);
  let done = 0;
  let total = 0;
  let ok = 0;
  let errors = 0;
  return {
    start: (count: number, skipped: number) => {
      total = count;
      done = skipped;
      if (skipped > 0 && enabled) process.stderr.write(`skipping ${skipped} run(s) finished earlier\n`);
      if (tty) bar.start(total, done, { ok, errors, last: "" });
    },
    tick: (record: IndexRecord) => {
      done += 1;
      if (record.status === "ok") ok += 1;
      else errors += 1;
      if (tty) bar.update(done, { ok, errors, last: record.run.slice(-40) });
      else if (enabled) process.stderr.write(`[${done}/${total}] ${record.status.padEnd(5)} ${record.run}${record.error ? `: ${record.error}` : ""}\n`);
    },
    stop: () => {
      if (tty) bar.stop();
    },
  };
}
