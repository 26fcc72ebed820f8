import { Option } from "commander";
import type { AnalyzeOptions } from "../graphs/state.js";
import { resolveHome } from "../memory/store.js";
import { UsageError } from "../schema/errors.js";

/** Options every analysing command shares. */
export const llmOption = () => new Option("--llm <mode>", "use an LLM for the hard parts: off, auto (when OPENAI_API_KEY is set) or on").choices(["off", "auto", "on"]).default("auto");
export const homeOption = () => new Option("--home <dir>", "memory and extractor registry (default $CODETRACER_HOME or ~/.codetracer)");
export const builtinOption = () => new Option("--no-builtin", "do not use the built-in extractors");
export const jsonOption = () => new Option("--json", "print machine-readable JSON instead of text");

export interface CommonFlags {
  llm: "off" | "auto" | "on";
  home?: string;
  builtin: boolean;
}

/** Turn shared flags into analysis options; `--llm on` without an endpoint is a usage error. */
export function analyzeOptions(flags: CommonFlags, remember = true): AnalyzeOptions {
  if (flags.llm === "on" && !process.env.OPENAI_API_KEY) throw new UsageError("--llm on needs OPENAI_API_KEY (and optionally OPENAI_BASE_URL, CODETRACER_MODEL)");
  return { llm: flags.llm, home: resolveHome(flags.home), remember, builtin: flags.builtin };
}
