import type { StageModel } from "./stageModel.js";

/**
 * Stage models per run dialect (analysis/stageModel.ts), learned from annotated runs: the
 * CodeTraceBench stages of the normalized corpus (projected onto extracted steps; runs whose
 * annotation does not fit their extracted steps are left out) and the stages of the two labelled
 * dev sets. Regenerate with
 *   bin/codetracer eval ../shared/corpus/codetracer-normalized --learn-stage-lengths
 *   bin/codetracer eval ../shared/labels/kimi-silver-dev.jsonl --learn-stage-lengths
 *   bin/codetracer eval ../shared/labels/claude-code-silver-dev.jsonl --learn-stage-lengths
 * and paste the dialect entries here. A dialect not listed uses the average model of its
 * format, else of all dialects (analysis/granularity.ts).
 */
export const LEARNED_STAGE_MODELS: Record<string, StageModel> = {
  "CodeTracer normalized run (steps.json + stage_ranges.json)|bash": {
    offset: 0.1202, scale: 0.7049, rate: 0.6225, tail: 0.5, runs: 50, stages: 1223,
    lengths: [0.71215, 0.15992, 0.05466, 0.02227, 0.01984, 0.01093, 0.00445, 0.00364, 0.00202, 0.0004, 0.0004, 0.00202, 0.00121, 0.00121, 0.0004, 0.0004, 0.0004, 0.00121, 0.0004, 0.0004, 0.0004, 0.0004, 0.0004, 0.0004],
  },
  "CodeTracer normalized run (steps.json + stage_ranges.json)|execute_bash": {
    offset: -0.0939, scale: 0.3527, rate: 0.5313, tail: 0.9533, runs: 71, stages: 1405,
    lengths: [0.71595, 0.14361, 0.04764, 0.03282, 0.01306, 0.01094, 0.006, 0.006, 0.00388, 0.00318, 0.00176, 0.00106, 0.00247, 0.00106, 0.00176, 0.00176, 0.00035, 0.00035, 0.00035, 0.00035, 0.00106, 0.00035, 0.00035, 0.00388],
  },
  "CodeTracer normalized run (steps.json + stage_ranges.json)|terminal": {
    offset: -0.2224, scale: 0.7348, rate: 0.4625, tail: 0.9841, runs: 76, stages: 1893,
    lengths: [0.58451, 0.19816, 0.08268, 0.04121, 0.02913, 0.01181, 0.01234, 0.00761, 0.00709, 0.00499, 0.00341, 0.00184, 0.00079, 0.00236, 0.00026, 0.00236, 0.00026, 0.00079, 0.00026, 0.00026, 0.00026, 0.00079, 0.00131, 0.00551],
  },
  "CodeTracer normalized run (steps.json + stage_ranges.json)|terminal+batched": {
    offset: -0.2935, scale: 0.3795, rate: 0.4112, tail: 0.9771, runs: 104, stages: 805,
    lengths: [0.54896, 0.18911, 0.1022, 0.03856, 0.0202, 0.03121, 0.00796, 0.00673, 0.00918, 0.00796, 0.00428, 0.00184, 0.00184, 0.00428, 0.00061, 0.00428, 0.00306, 0.00306, 0.00428, 0.00184, 0.00184, 0.00061, 0.00061, 0.00551],
  },
  "harbor-trial (ATIF)|-": {
    offset: -2.5289, scale: 2.5297, rate: 0.1604, tail: 0.5, runs: 5, stages: 13,
    lengths: [0.18, 0.06, 0.02, 0.14, 0.06, 0.06, 0.02, 0.06, 0.02, 0.1, 0.02, 0.02, 0.02, 0.02, 0.02, 0.02, 0.02, 0.02, 0.02, 0.02, 0.02, 0.02, 0.02, 0.02],
  },
  "harbor-trial (ATIF)|bash": {
    offset: -3.2139, scale: 2.1001, rate: 0.0648, tail: 0.9585, runs: 15, stages: 64,
    lengths: [0.15132, 0.09868, 0.01974, 0.125, 0.01974, 0.05921, 0.04605, 0.07237, 0.03289, 0.05921, 0.04605, 0.01974, 0.01974, 0.00658, 0.00658, 0.01974, 0.00658, 0.00658, 0.00658, 0.00658, 0.01974, 0.00658, 0.00658, 0.13816],
  },
  "terminal-bench trial (Claude Code stream-json in sessions/agent.cast)|bash": {
    offset: -2.5225, scale: 1.5571, rate: 0.2438, tail: 0.9167, runs: 17, stages: 115,
    lengths: [0.24803, 0.23228, 0.16142, 0.12205, 0.03543, 0.04331, 0.02756, 0.01969, 0.01181, 0.00394, 0.00394, 0.01181, 0.00394, 0.00394, 0.01181, 0.00394, 0.00394, 0.01181, 0.00394, 0.00394, 0.00394, 0.00394, 0.00394, 0.01969],
  },
};
