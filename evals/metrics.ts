/** What a diagnoser (or a baseline) said about one run, in step ids. */
export interface StepPrediction {
  onset: number | null;
  incorrect: number[];
  unuseful: number[];
}

export interface PRF {
  precision: number;
  recall: number;
  f1: number;
}

/** Onset accuracy at several tolerances, as shares of runs that have a gold onset. */
export interface OnsetScores {
  runs: number;
  exact: number;
  within: Record<string, number>;
}

export const ONSET_TOLERANCES = [1, 3, 5] as const;

/** Set precision/recall/F1 of one run. Both empty is a perfect answer; one empty scores 0. */
export function setPRF(predicted: number[], gold: number[]): PRF {
  if (predicted.length === 0 && gold.length === 0) return { precision: 1, recall: 1, f1: 1 };
  const goldSet = new Set(gold);
  const hits = new Set(predicted.filter((id) => goldSet.has(id))).size;
  const precision = predicted.length === 0 ? 0 : hits / new Set(predicted).size;
  const recall = gold.length === 0 ? 0 : hits / goldSet.size;
  const f1 = precision + recall === 0 ? 0 : (2 * precision * recall) / (precision + recall);
  return { precision, recall, f1 };
}

export function macroPRF(pairs: { predicted: number[]; gold: number[] }[]): PRF {
  if (pairs.length === 0) return { precision: 0, recall: 0, f1: 0 };
  const scores = pairs.map(({ predicted, gold }) => setPRF(predicted, gold));
  const mean = (pick: (score: PRF) => number) => scores.reduce((sum, score) => sum + pick(score), 0) / scores.length;
  return { precision: mean((score) => score.precision), recall: mean((score) => score.recall), f1: mean((score) => score.f1) };
}

/** Micro average: pool every run's hits, predictions and gold steps. */
export function microPRF(pairs: { predicted: number[]; gold: number[] }[]): PRF {
  let hits = 0;
  let predicted = 0;
  let gold = 0;
  for (const pair of pairs) {
    const goldSet = new Set(pair.gold);
    const predictedSet = new Set(pair.predicted);
    hits += [...predictedSet].filter((id) => goldSet.has(id)).length;
    predicted += predictedSet.size;
    gold += goldSet.size;
  }
  const precision = predicted === 0 ? 0 : hits / predicted;
  const recall = gold === 0 ? 0 : hits / gold;
  return { precision, recall, f1: precision + recall === 0 ? 0 : (2 * precision * recall) / (precision + recall) };
}

/** Share of runs whose predicted onset is within each tolerance; a missing prediction or gold is a miss. */
export function onsetScores(pairs: { predicted: number | null; gold: number | null }[]): OnsetScores {
  const runs = pairs.length;
  const share = (hit: (distance: number) => boolean) =>
    runs === 0 ? 0 : pairs.filter(({ predicted, gold }) => predicted !== null && gold !== null && hit(Math.abs(predicted - gold))).length / runs;
  const within: Record<string, number> = {};
  for (const k of ONSET_TOLERANCES) within[`±${k}`] = share((distance) => distance <= k);
  return { runs, exact: share((distance) => distance === 0), within };
}

/** Stage boundaries: the step ids where a new stage starts, not counting the first stage. */
export function boundariesOf(stages: { start: number; end: number }[]): number[] {
  return [...new Set(stages.map((stage) => stage.start))].sort((a, b) => a - b).slice(1);
}

/**
 * Boundary precision/recall/F1 at a tolerance: each gold boundary can be matched by at most one
 * predicted boundary within `tolerance` steps (closest pairs first). Both empty is a perfect answer.
 */
export function boundaryPRF(predicted: number[], gold: number[], tolerance: number): PRF {
  if (predicted.length === 0 && gold.length === 0) return { precision: 1, recall: 1, f1: 1 };
  const pairs: { distance: number; p: number; g: number }[] = [];
  predicted.forEach((p, pi) => gold.forEach((g, gi) => {
    const distance = Math.abs(p - g);
    if (distance <= tolerance) pairs.push({ distance, p: pi, g: gi });
  }));
  pairs.sort((a, b) => a.distance - b.distance || a.p - b.p || a.g - b.g);
  const usedP = new Set<number>();
  const usedG = new Set<number>();
  for (const pair of pairs) {
    if (usedP.has(pair.p) || usedG.has(pair.g)) continue;
    usedP.add(pair.p);
    usedG.add(pair.g);
  }
  const hits = usedP.size;
  const precision = predicted.length === 0 ? 0 : hits / predicted.length;
  const recall = gold.length === 0 ? 0 : hits / gold.length;
  return { precision, recall, f1: precision + recall === 0 ? 0 : (2 * precision * recall) / (precision + recall) };
}

/** Mean of per-run scores (macro average). */
export function meanPRF(scores: PRF[]): PRF {
  if (scores.length === 0) return { precision: 0, recall: 0, f1: 0 };
  const mean = (pick: (score: PRF) => number) => scores.reduce((sum, score) => sum + pick(score), 0) / scores.length;
  return { precision: mean((score) => score.precision), recall: mean((score) => score.recall), f1: mean((score) => score.f1) };
}

/** Counts of (gold, predicted) label pairs, e.g. failure categories. */
export function confusion(pairs: { gold: string; predicted: string }[]): { labels: string[]; counts: Record<string, Record<string, number>> } {
  const labels = [...new Set(pairs.flatMap((pair) => [pair.gold, pair.predicted]))].sort();
  const counts: Record<string, Record<string, number>> = {};
  for (const gold of labels) counts[gold] = Object.fromEntries(labels.map((predicted) => [predicted, 0]));
  for (const pair of pairs) counts[pair.gold]![pair.predicted]! += 1;
  return { labels, counts };
}
