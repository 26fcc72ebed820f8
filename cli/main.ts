import { Command, CommanderError } from "commander";
import { RunError, UsageError, errorMessage } from "../schema/errors.js";
import { analyzeCommand } from "./analyze.js";
import { batchCommand } from "./batch.js";
import { evalCommand } from "./eval.js";
import { extractorsCommand } from "./extractors.js";
import { feedbackCommand } from "./feedback.js";
import { memoryCommand } from "./memory.js";
import { serveCommand } from "./serve.js";

/** Exit codes (DESIGN): 0 ok, 1 the run could not be analyzed, 2 bad usage. */
export const EXIT = { ok: 0, runFailed: 1, usage: 2 } as const;

export function buildProgram(): Command {
  return new Command("codetracer")
    .description("Find where a code agent's run first went wrong, what followed, and how to re-run it from there.")
    .version("0.1.0")
    .exitOverride()
    .addCommand(analyzeCommand())
    .addCommand(batchCommand())
    .addCommand(evalCommand())
    .addCommand(feedbackCommand())
    .addCommand(memoryCommand())
    .addCommand(extractorsCommand())
    .addCommand(serveCommand());
}

export async function main(argv: string[]): Promise<number> {
  const program = buildProgram();
  program.commands.forEach((command) => command.exitOverride());
  try {
    await program.parseAsync(argv, { from: "user" });
    return EXIT.ok;
  } catch (err) {
    if (err instanceof CommanderError) {
      // commander already printed the message (or the help / version, which are not errors)
      return err.exitCode === 0 ? EXIT.ok : EXIT.usage;
    }
    if (err instanceof UsageError) {
      console.error(`codetracer: ${err.message}`);
      return EXIT.usage;
    }
    if (err instanceof RunError) {
      console.error(`codetracer: ${err.message}`);
      return EXIT.runFailed;
    }
    console.error(`codetracer: internal error: ${errorMessage(err)}`);
    if (process.env.CODETRACER_DEBUG) console.error(err);
    return EXIT.runFailed;
  }
}
