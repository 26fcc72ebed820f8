/**
 * Expected stage length (steps per annotated stage) per run dialect, learned from annotated runs:
 * the CodeTraceBench stages of the normalized corpus (projected onto extracted steps) and the stages
 * of the two labelled dev sets. Regenerate with
 *   bin/codetracer eval ../shared/corpus/codetracer-normalized --learn-stage-lengths
 *   bin/codetracer eval ../shared/labels/kimi-silver-dev.jsonl --learn-stage-lengths
 *   bin/codetracer eval ../shared/labels/claude-code-silver-dev.jsonl --learn-stage-lengths
 * and paste the dialect entries here. A dialect not listed falls back to the median of its format,
 * and an unknown format to purpose-change segmentation with no length prior.
 */
export const LEARNED_STAGE_LENGTHS: Record<string, number> = {
  "CodeTracer normalized run (steps.json + stage_ranges.json)|bash": 1.42,
  "CodeTracer normalized run (steps.json + stage_ranges.json)|terminal": 2.55,
  "CodeTracer normalized run (steps.json + stage_ranges.json)|execute_bash": 1.81,
  "CodeTracer normalized run (steps.json + stage_ranges.json)|-": 0.41,
  "harbor-trial (ATIF)|bash": 12.16,
  "harbor-trial (ATIF)|-": 4.38,
  "terminal-bench trial (Claude Code stream-json in sessions/agent.cast)|bash": 3.65,
};
