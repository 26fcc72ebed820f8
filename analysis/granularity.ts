import { readFileSync } from "node:fs";
import { z } from "zod";
import type { Step } from "../schema/step.js";
import { LEARNED_STAGE_MODELS } from "./stageLengths.js";
import { StageModel } from "./stageModel.js";

/**
 * How finely this kind of run is cut into stages. Annotators cut at very different granularity
 * depending on the framework (a Terminus 2 episode holds many commands, a mini-SWE-agent step is
 * one; the labelled dev sets cut by purpose only), so the stage model is learned per dialect from
 * annotated runs (analysis/stageLengths.ts, produced by `codetracer eval --learn-stage-lengths`).
 * A dialect never seen borrows the average model of its format, else of every dialect.
 */
export function stageModelFor(format: string, steps: Step[], table: Record<string, StageModel> = learnedStageModels()): StageModel {
  return modelForDialect(dialectOf(format, steps), table);
}

/** The model of a dialect; else of the same format and tool, however batched; else the average of its format's, else of all. */
export function modelForDialect(dialect: string, table: Record<string, StageModel>): StageModel {
  const model = table[dialect] ?? table[dialect.replace(/\+batched$/, "")];
  if (model) return model;
  const format = dialect.slice(0, dialect.lastIndexOf("|"));
  const sameFormat = Object.entries(table).filter(([key]) => key.startsWith(`${format}|`)).map(([, candidate]) => candidate);
  return averageModel(sameFormat.length > 0 ? sameFormat : Object.values(table));
}

/**
 * A run's dialect: its format and the agent's shell tool (`bash`, `terminal`, `execute_bash`), "-"
 * without one, marked `+batched` when the agent typically sends several command lines per step (a
 * Terminus 2 episode of GPT-5 holds a dozen; most agents send one), since a step then carries
 * much more of the work and stages span fewer of them.
 */
export function dialectOf(format: string, steps: Step[]): string {
  const counts = new Map<string, number>();
  const lines: number[] = [];
  for (const step of steps) {
    if (step.tool?.command === undefined || (step.actor !== "agent" && step.actor !== "assistant")) continue;
    const name = step.tool.name.toLowerCase();
    counts.set(name, (counts.get(name) ?? 0) + 1);
    lines.push(step.tool.command.split("\n").filter((line) => line.trim() !== "").length);
  }
  const dominant = [...counts].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))[0]?.[0] ?? "-";
  const typicalLines = [...lines].sort((a, b) => a - b)[Math.floor(lines.length / 2)] ?? 0;
  return `${format}|${dominant}${typicalLines >= BATCHED_LINES ? "+batched" : ""}`;
}

/** Command lines per step from which an agent counts as batching its commands. */
const BATCHED_LINES = 3;

/** Mean number of steps per stage under a model's length prior. */
export function meanStageLength(model: StageModel): number {
  const last = model.lengths.length;
  const head = model.lengths.slice(0, -1).reduce((sum, p, index) => sum + p * (index + 1), 0);
  return head + model.lengths[last - 1]! * (last + model.tail / (1 - model.tail));
}

/** Parameter-wise mean of several models; the length tables are padded with their own tails. */
export function averageModel(models: StageModel[]): StageModel {
  const size = Math.max(...models.map((model) => model.lengths.length));
  const mean = (pick: (model: StageModel) => number) => models.reduce((sum, model) => sum + pick(model), 0) / models.length;
  const lengths = Array.from({ length: size }, (_, index) => mean((model) => lengthAt(model, index + 1, size)));
  return StageModel.parse({
    offset: mean((model) => model.offset),
    scale: mean((model) => model.scale),
    rate: mean((model) => model.rate),
    lengths,
    tail: mean((model) => model.tail),
    runs: models.reduce((sum, model) => sum + model.runs, 0),
    stages: models.reduce((sum, model) => sum + model.stages, 0),
  });
}

/** P(length) for lengths inside a table of `size` entries, the last one being P(length ≥ size). */
function lengthAt(model: StageModel, length: number, size: number): number {
  const last = model.lengths.length;
  const exactly = (l: number) => (l < last ? model.lengths[l - 1]! : model.lengths[last - 1]! * (1 - model.tail) * model.tail ** (l - last));
  if (length < size) return exactly(length);
  let below = 0;
  for (let l = 1; l < size; l += 1) below += exactly(l);
  return Math.max(1e-9, 1 - below);
}

const StageModels = z.record(z.string(), StageModel);
let cached: Record<string, StageModel> | undefined;

/**
 * The learned table, or the JSON file named by CODETRACER_STAGE_MODELS (the output of
 * `--learn-stage-lengths`), which lets an evaluation use models learned elsewhere (out of sample).
 */
export function learnedStageModels(): Record<string, StageModel> {
  if (cached) return cached;
  const file = process.env.CODETRACER_STAGE_MODELS;
  cached = file ? StageModels.parse(JSON.parse(readFileSync(file, "utf8"))) : StageModels.parse(LEARNED_STAGE_MODELS);
  return cached;
}
