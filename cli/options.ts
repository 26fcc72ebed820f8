import { Option } from "commander";
import type { AnalyzeOptions } from "../graphs/state.js";
import { resolveLlmConfig } from "../llm/config.js";
import { resolveHome } from "../memory/store.js";

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

/**
 * Turn shared flags into analysis options. The LLM settings are checked here, before any run is read:
 * `--llm on` without an endpoint, or a malformed OPENAI_BASE_URL, is a usage error (llm/config.ts).
 */
export function analyzeOptions(flags: CommonFlags, remember = true): AnalyzeOptions {
  resolveLlmConfig(flags.llm);
  return { llm: flags.llm, home: resolveHome(flags.home), remember, builtin: flags.builtin };
}
