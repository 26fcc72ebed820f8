/**
 * Choosing where to cut, given segmentations sampled from the stage model's posterior: the set of
 * boundaries that, averaged over those plausible segmentations, scores best as a stage segmentation
 * is scored (boundary F1 within ±1 step, with a share of exact F1). A boundary every few steps is
 * hard to beat within ±1 when the evidence is weak, and the samples know that: they carry the
 * learned stage lengths as well as the evidence, so the chosen cut hedges where the run is
 * ambiguous and follows the evidence where it is clear.
 */
export const DECODING = {
  /** Share of exact-boundary F1 in what is maximized (the rest is F1 within ±1 step). */
  exactShare: 0.25,
  /** Posterior samples for runs of up to `fullSamplesUpTo` steps; fewer for longer runs, at least `minSamples`. */
  samples: 64,
  fullSamplesUpTo: 200,
  minSamples: 8,
  maxPasses: 20,
} as const;

export function sampleCount(steps: number): number {
  return Math.max(DECODING.minSamples, Math.round((DECODING.samples * Math.min(DECODING.fullSamplesUpTo, steps)) / Math.max(steps, 1)));
}

/**
 * The boundaries (indices of steps opening a stage, 0 excluded) maximizing the mean score against
 * the samples. Starts from the best of a few simple candidates (posterior > ½, none, every k-th step),
 * then adds, removes or shifts single boundaries while that improves the mean.
 */
export function chooseBoundaries(n: number, samples: number[][], posteriors: number[]): number[] {
  if (n < 2 || samples.length === 0) return [];
  const golds = samples.map((sample) => new Set(sample));
  const sizes = samples.map((sample) => sample.length);
  const value = (chosen: boolean[]) => meanScore(chosen, golds, sizes);
  let best = posteriors.map((posterior, index) => index > 0 && posterior > 0.5);
  let bestValue = value(best);
  for (const candidate of regularCandidates(n)) {
    const candidateValue = value(candidate);
    if (candidateValue > bestValue) [best, bestValue] = [candidate, candidateValue];
  }
  const chosen = [...best];
  for (let pass = 0; pass < DECODING.maxPasses; pass += 1) {
    let improved = false;
    for (let index = 1; index < n; index += 1) {
      chosen[index] = !chosen[index];
      const toggled = value(chosen);
      if (toggled > bestValue + 1e-12) {
        bestValue = toggled;
        improved = true;
        continue;
      }
      chosen[index] = !chosen[index];
      if (chosen[index]) {
        const shifted = bestShift(chosen, index, n, value, bestValue);
        if (shifted !== undefined) {
          bestValue = shifted;
          improved = true;
        }
      }
    }
    if (!improved) break;
  }
  return chosen.flatMap((cut, index) => (cut ? [index] : []));
}

/** Move the boundary at `index` one step left or right if that scores better (in place); the new score. */
function bestShift(chosen: boolean[], index: number, n: number, value: (chosen: boolean[]) => number, current: number): number | undefined {
  for (const target of [index - 1, index + 1]) {
    if (target < 1 || target >= n || chosen[target]) continue;
    chosen[index] = false;
    chosen[target] = true;
    const moved = value(chosen);
    if (moved > current + 1e-12) return moved;
    chosen[index] = true;
    chosen[target] = false;
  }
  return undefined;
}

/** No boundary at all, and a boundary every k-th step for k = 1..5 at every offset. */
function regularCandidates(n: number): boolean[][] {
  const candidates: boolean[][] = [new Array<boolean>(n).fill(false)];
  for (let every = 1; every <= 5; every += 1) {
    for (let offset = 0; offset < every; offset += 1) candidates.push(Array.from({ length: n }, (_, index) => index > 0 && index % every === offset));
  }
  return candidates;
}

function meanScore(chosen: boolean[], golds: Set<number>[], sizes: number[]): number {
  const predicted: number[] = [];
  chosen.forEach((cut, index) => {
    if (cut) predicted.push(index);
  });
  let total = 0;
  for (let sample = 0; sample < golds.length; sample += 1) {
    const gold = golds[sample]!;
    const size = sizes[sample]!;
    const { exact, within1 } = matchCounts(predicted, gold);
    total += (1 - DECODING.exactShare) * f1(within1, predicted.length, size) + DECODING.exactShare * f1(exact, predicted.length, size);
  }
  return total / golds.length;
}

/**
 * Matches between predicted and gold boundaries as evals/metrics.ts `boundaryPRF` counts them (one
 * to one, closest pairs first, ties to the earlier prediction and then the earlier gold): exact
 * pairs first, then each unmatched prediction takes the free gold just before it, else just after.
 */
export function matchCounts(predicted: number[], gold: Set<number>): { exact: number; within1: number } {
  const used = new Set<number>();
  const unmatched: number[] = [];
  for (const boundary of predicted) {
    if (gold.has(boundary)) used.add(boundary);
    else unmatched.push(boundary);
  }
  const exact = used.size;
  let near = 0;
  for (const boundary of unmatched) {
    for (const neighbour of [boundary - 1, boundary + 1]) {
      if (gold.has(neighbour) && !used.has(neighbour)) {
        used.add(neighbour);
        near += 1;
        break;
      }
    }
  }
  return { exact, within1: exact + near };
}

/** Both empty is a perfect answer, as in evals/metrics.ts. */
function f1(matches: number, predicted: number, gold: number): number {
  if (predicted === 0 && gold === 0) return 1;
  return predicted + gold === 0 ? 0 : (2 * matches) / (predicted + gold);
}
