import { Command } from "commander";
import path from "node:path";
import { analyzeRun } from "../graphs/analyze.js";
import { writeAnalysis, OUTPUT_FILES } from "../outputs/write.js";
import type { Analysis } from "../graphs/analyze.js";
import { analyzeOptions, builtinOption, homeOption, jsonOption, llmOption, type CommonFlags } from "./options.js";

export function analyzeCommand(): Command {
  return new Command("analyze")
    .description("diagnose one run (a directory or a file) and write trace, diagnosis, labels, replay plan and report")
    .argument("<run>", "run directory or log file")
    .requiredOption("--out <dir>", "where to write the five output files")
    .addOption(llmOption())
    .addOption(homeOption())
    .addOption(builtinOption())
    .addOption(jsonOption())
    .action(async (run: string, flags: CommonFlags & { out: string; json?: boolean }) => {
      const analysis = await analyzeRun(run, analyzeOptions(flags));
      await writeAnalysis(flags.out, analysis);
      if (flags.json) console.log(JSON.stringify(summary(analysis, flags.out), null, 2));
      else console.log(describe(analysis, flags.out));
    });
}

function summary({ trace, diagnosis, replay }: Analysis, out: string) {
  return {
    run: trace.run.path,
    format: trace.run.format,
    steps: trace.steps.length,
    outcome: trace.run.outcome?.status ?? "unknown",
    failed: diagnosis.failed,
    onset: diagnosis.onset,
    failure_category: diagnosis.failure_category,
    error_chain: diagnosis.error_chain,
    resume_after_step_id: replay.resume_after_step_id,
    files: OUTPUT_FILES.map((file) => path.join(out, file)),
  };
}

/** The few lines a person reads first. */
function describe({ trace, diagnosis, replay }: Analysis, out: string): string {
  const lines = [
    `${trace.run.path}`,
    `  format   ${trace.run.format} · ${trace.steps.length} steps · ${trace.stages.length} stages`,
    `  outcome  ${trace.run.outcome?.status ?? "unknown"}${failingChecks(trace)}`,
  ];
  if (diagnosis.onset) {
    lines.push(`  onset    step ${diagnosis.onset.step_id} (stage ${diagnosis.onset.stage_id}, confidence ${diagnosis.onset.confidence.toFixed(2)}): ${diagnosis.onset.summary}`);
    lines.push(`  category ${diagnosis.failure_category}`);
    lines.push(`  chain    ${diagnosis.error_chain.join(" → ")}`);
    if (replay.resumable) lines.push(`  replay   resume after step ${replay.resume_after_step_id}, budget ${replay.budget.steps} steps`);
  } else {
    lines.push(`  onset    none found${diagnosis.failed === false ? " (the run passed)" : ""}`);
  }
  lines.push(`  wrote    ${OUTPUT_FILES.join(", ")} to ${out}`);
  return lines.join("\n");
}

function failingChecks(trace: Analysis["trace"]): string {
  const failing = trace.run.outcome?.evidence.filter((item) => item.status !== "passed") ?? [];
  return trace.run.outcome?.status === "failed" && failing.length ? ` (${failing.length} failing check${failing.length > 1 ? "s" : ""})` : "";
}
