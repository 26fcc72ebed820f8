import { Command, Option } from "commander";
import { FEEDBACK_CATEGORIES, recordFeedback, type FeedbackResult } from "../memory/feedback.js";
import { resolveHome } from "../memory/store.js";
import { UsageError } from "../schema/errors.js";
import { homeOption, jsonOption } from "./options.js";

export function feedbackCommand(): Command {
  return new Command("feedback")
    .description("confirm or correct the diagnosis in an analyze output folder; the run becomes a confirmed case in memory")
    .argument("<out-dir>", "the --out folder of `codetracer analyze` (holds trace.json and diagnosis.json)")
    .requiredOption("--onset <step>", "the step where the run first went wrong", stepId("--onset"))
    .option("--incorrect <steps>", "comma-separated incorrect steps (default: the diagnosis' steps from the onset on)", stepIds("--incorrect"))
    .option("--unuseful <steps>", "comma-separated unuseful steps (default: the diagnosis')", stepIds("--unuseful"))
    .addOption(new Option("--category <category>", "failure category (default: the diagnosis')").choices(FEEDBACK_CATEGORIES))
    .option("--note <text>", "a free note kept with the feedback")
    .addOption(homeOption())
    .addOption(jsonOption())
    .action(async (outDir: string, flags: { onset: number; incorrect?: number[]; unuseful?: number[]; category?: string; note?: string; home?: string; json?: boolean }) => {
      const result = await recordFeedback({
        outDir,
        onset: flags.onset,
        home: resolveHome(flags.home),
        ...(flags.incorrect ? { incorrect: flags.incorrect } : {}),
        ...(flags.unuseful ? { unuseful: flags.unuseful } : {}),
        ...(flags.category ? { category: flags.category } : {}),
        ...(flags.note ? { note: flags.note } : {}),
      });
      if (flags.json) console.log(JSON.stringify(summary(result), null, 2));
      else console.log(describe(result));
    });
}

function summary(result: FeedbackResult) {
  const { case: failure, ...rest } = result;
  return { ...rest, case_id: failure.run };
}

function describe(result: FeedbackResult): string {
  const verdict = result.agrees ? "confirmed the diagnosis' onset" : `corrected the onset (diagnosis said ${result.diagnosed_onset ?? "none"})`;
  return [
    `${result.run}`,
    `  ${verdict}: step ${result.onset}, ${result.category}`,
    `  incorrect ${result.incorrect.join(", ") || "-"} · unuseful ${result.unuseful.join(", ") || "-"}`,
    `  memory now holds ${result.confirmed_cases} confirmed failure case${result.confirmed_cases === 1 ? "" : "s"}`,
  ].join("\n");
}

function stepId(flag: string) {
  return (value: string): number => {
    if (!/^\d+$/.test(value.trim()) || Number(value) < 1) throw new UsageError(`${flag} takes a step id (a positive integer), got "${value}"`);
    return Number(value);
  };
}

function stepIds(flag: string) {
  const one = stepId(flag);
  return (value: string): number[] => value.split(",").filter((part) => part.trim() !== "").map(one);
}
