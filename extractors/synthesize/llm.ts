import type { BaseChatModel } from "@langchain/core/language_models/chat_models";
import { stat } from "node:fs/promises";
import { createChatModel, type LlmConfig } from "../../llm/config.js";
import { truncate, untrusted } from "../../llm/untrusted.js";
import { loadPrompt, renderPrompt } from "../../prompts/index.js";
import { errorMessage } from "../../schema/errors.js";
import { ExtractorSpecShape, parseSpec, type ExtractorSpec } from "../../schema/extractorSpec.js";
import type { RunFiles } from "../types.js";
import { findRecordStreams } from "./streams.js";

/**
 * The LLM synthesizer: the model reads samples of the run's files and writes a spec through
 * structured output with the spec schema. It has no tools; its answer is data, parsed by the spec
 * schema and scored by the same validator as every other candidate. Trajectory text in the prompt is
 * delimited as untrusted.
 */

const MAX_FILES_LISTED = 80;
const SAMPLE_RECORDS = 4;
const RECORD_CHARS = 1_200;
const SAMPLES_BUDGET = 14_000;

export interface LlmSpecAttempt {
  spec?: ExtractorSpec;
  /** Why no usable spec came back (transport, schema), for the repair prompt and the log. */
  error?: string;
}

/** What the model sees of a run: its file list and a few records of each candidate stream. */
export async function describeRunForModel(run: RunFiles): Promise<{ files: string; samples: string }> {
  const listed = await Promise.all(
    run.files.slice(0, MAX_FILES_LISTED).map(async (file) => `${file} (${await stat(`${run.root}/${file}`).then((info) => info.size).catch(() => 0)})`),
  );
  const files = listed.join("\n") + (run.files.length > MAX_FILES_LISTED ? `\n… and ${run.files.length - MAX_FILES_LISTED} more` : "");
  const parts: string[] = [];
  for (const stream of await findRecordStreams(run)) {
    const where = `${stream.files}${stream.records !== undefined ? ` records at "${stream.records}"` : " (JSON lines)"}, ${stream.count} records`;
    const records = stream.sample.slice(0, SAMPLE_RECORDS).map((record) => truncate(JSON.stringify(record), RECORD_CHARS));
    parts.push(`${where}:\n${untrusted(records.join("\n"))}`);
  }
  return { files: untrusted(files), samples: truncate(parts.join("\n\n") || "(no JSON records found)", SAMPLES_BUDGET) };
}

/** The model with the spec schema as its only possible answer. */
function specWriter(model: BaseChatModel) {
  // Not strict: the spec schema has optional fields, which strict JSON-schema mode would force the model to fill.
  return model.withStructuredOutput(ExtractorSpecShape, { name: "extractor_spec", includeRaw: true, strict: false });
}

/**
 * Ask the model for a spec. With `repair`, the previous spec and the validator's problems go back to
 * it, so it can fix what was wrong.
 */
export async function llmSpec(
  run: RunFiles,
  options: { config?: LlmConfig; model?: BaseChatModel; specId: string; repair?: { spec: unknown; problems: string[] } },
): Promise<LlmSpecAttempt> {
  const model = options.model ?? (options.config ? await createChatModel(options.config) : undefined);
  if (!model) return { error: "no LLM configured" };
  const prompt = loadPrompt("synthesize-extractor");
  const described = await describeRunForModel(run);
  const repair = options.repair
    ? `Your previous spec did not read the run well:\n${JSON.stringify(options.repair.spec, null, 1).slice(0, 6_000)}\nProblems the validator found:\n${options.repair.problems.map((problem) => `- ${problem}`).join("\n")}\nWrite a corrected spec.`
    : "";
  const values = { spec_id: options.specId, files: described.files, samples: described.samples, repair };
  try {
    const answer = await specWriter(model).invoke([
      { role: "system", content: renderPrompt(prompt.system, values) },
      { role: "user", content: renderPrompt(prompt.user, values) },
    ]);
    const raw = answer.parsed ?? rawJson(answer.raw);
    const parsed = parseSpec(raw);
    return parsed.ok ? { spec: { ...parsed.spec, id: options.specId } } : { error: `the model's spec is invalid: ${parsed.error}` };
  } catch (err) {
    return { error: `the model gave no usable spec: ${errorMessage(err)}` };
  }
}

/** When the structured parse failed, the raw message may still hold the JSON the model wrote. */
function rawJson(raw: unknown): unknown {
  const content = (raw as { content?: unknown } | undefined)?.content;
  if (typeof content !== "string") return undefined;
  try {
    return JSON.parse(content);
  } catch {
    return undefined;
  }
}
