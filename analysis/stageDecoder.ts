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
  /** Segmentations drawn from the posterior to average over. */
  samples: 64,
  maxPasses: 20,
  /** Runs longer than this many steps are decided window by window. */
  window: 200,
} as const;

/**
 * The boundaries (indices of steps opening a stage, 0 excluded) maximizing the mean score against
 * the samples. Starts from the best of a few simple candidates (posterior > ½, none, every k-th step),
 * then adds, removes or shifts single boundaries while that improves the mean.
 */
export function chooseBoundaries(n: number, samples: number[][], posteriors: number[]): number[] {
  if (n <= DECODING.window) return chooseInWindow(n, samples, posteriors, 1);
  // Long runs are cut into windows decided one after the other, which keeps the cost linear in the run's length.
  const cuts: number[] = [];
  for (let start = 0; start < n; start += DECODING.window) {
    const end = Math.min(n, start + DECODING.window);
    const first = start === 0 ? 1 : 0;
    const inside = samples.map((sample) => sample.filter((cut) => cut >= start + first && cut < end).map((cut) => cut - start));
    cuts.push(...chooseInWindow(end - start, inside, posteriors.slice(start, end), first).map((cut) => cut + start));
  }
  return cuts;
}

/** `from`: the first index that may open a stage (1 at the start of the run, where index 0 always does). */
function chooseInWindow(n: number, samples: number[][], posteriors: number[], from: number): number[] {
  if (n <= from || samples.length === 0) return [];
  const golds = samples.map((sample) => {
    const marks = new Uint8Array(n + 1);
    for (const cut of sample) marks[cut] = 1;
    return marks;
  });
  const sizes = samples.map((sample) => sample.length);
  const used = new Uint32Array(n + 2);
  let stamp = 0;
  const value = (chosen: boolean[]) => {
    const predicted: number[] = [];
    chosen.forEach((cut, index) => {
      if (cut) predicted.push(index);
    });
    let total = 0;
    for (let sample = 0; sample < golds.length; sample += 1) {
      stamp += 1;
      const { exact, within1 } = countMatches(predicted, golds[sample]!, used, stamp);
      total += (1 - DECODING.exactShare) * f1(within1, predicted.length, sizes[sample]!) + DECODING.exactShare * f1(exact, predicted.length, sizes[sample]!);
    }
    return total / golds.length;
  };
  let best = posteriors.map((posterior, index) => index >= from && posterior > 0.5);
  let bestValue = value(best);
  for (const candidate of regularCandidates(n, from)) {
    const candidateValue = value(candidate);
    if (candidateValue > bestValue) [best, bestValue] = [candidate, candidateValue];
  }
  const chosen = [...best];
  for (let pass = 0; pass < DECODING.maxPasses; pass += 1) {
    let improved = false;
    for (let index = from; index < n; index += 1) {
      chosen[index] = !chosen[index];
      const toggled = value(chosen);
      if (toggled > bestValue + 1e-12) {
        bestValue = toggled;
        improved = true;
        continue;
      }
      chosen[index] = !chosen[index];
      if (chosen[index]) {
        const shifted = bestShift(chosen, index, from, n, value, bestValue);
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
function bestShift(chosen: boolean[], index: number, from: number, n: number, value: (chosen: boolean[]) => number, current: number): number | undefined {
  for (const target of [index - 1, index + 1]) {
    if (target < from || target >= n || chosen[target]) continue;
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
function regularCandidates(n: number, from: number): boolean[][] {
  const candidates: boolean[][] = [new Array<boolean>(n).fill(false)];
  for (let every = 1; every <= 5; every += 1) {
    for (let offset = 0; offset < every; offset += 1) candidates.push(Array.from({ length: n }, (_, index) => index >= from && index % every === offset));
  }
  return candidates;
}

/**
 * Matches between predicted and gold boundaries as evals/metrics.ts `boundaryPRF` counts them (one
 * to one, closest pairs first, ties to the earlier prediction and then the earlier gold): exact
 * pairs first, then each unmatched prediction takes the free gold just before it, else just after.
 */
export function matchCounts(predicted: number[], gold: Set<number>): { exact: number; within1: number } {
  const size = Math.max(0, ...predicted, ...gold) + 2;
  const marks = new Uint8Array(size);
  for (const boundary of gold) if (boundary >= 0) marks[boundary] = 1;
  return countMatches(predicted, marks, new Uint32Array(size + 1), 1);
}

/** `matchCounts` over gold marks (1 where a gold boundary is); `used[i] === stamp` marks gold already matched. */
function countMatches(predicted: number[], gold: Uint8Array, used: Uint32Array, stamp: number): { exact: number; within1: number } {
  let exact = 0;
  for (const boundary of predicted) {
    if (gold[boundary] === 1) {
      used[boundary] = stamp;
      exact += 1;
    }
  }
  let near = 0;
  for (const boundary of predicted) {
    if (gold[boundary] === 1) continue;
    if (boundary > 0 && gold[boundary - 1] === 1 && used[boundary - 1] !== stamp) {
      used[boundary - 1] = stamp;
      near += 1;
    } else if (gold[boundary + 1] === 1 && used[boundary + 1] !== stamp) {
      used[boundary + 1] = stamp;
      near += 1;
    }
  }
  return { exact, within1: exact + near };
}

/** Both empty is a perfect answer, as in evals/metrics.ts. */
function f1(matches: number, predicted: number, gold: number): number {
  if (predicted === 0 && gold === 0) return 1;
  return predicted + gold === 0 ? 0 : (2 * matches) / (predicted + gold);
}
