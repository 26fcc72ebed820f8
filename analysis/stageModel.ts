import { z } from "zod";

/**
 * How the annotators of one kind of run cut stages, learned from annotated runs
 * (`codetracer eval … --learn-stage-lengths`, table in analysis/stageLengths.ts): a prior over stage
 * lengths, and how far their boundaries follow the generic boundary evidence (analysis/boundaryEvidence.ts).
 * Together they make a hidden semi-Markov model of the stages of a run: stages of random length,
 * each boundary seen through the evidence of its gap.
 */
export const StageModel = z.object({
  /** Log-odds of a boundary at a gap = offset + scale × evidence (logistic fit over annotated gaps). */
  offset: z.number(),
  scale: z.number().min(0),
  /** Share of gaps that are boundaries in the annotated runs. */
  rate: z.number().gt(0).lt(1),
  /** P(stage length = 1, 2, …, k) in steps; the last entry is the mass of every length ≥ k. */
  lengths: z.array(z.number().gt(0)).min(2),
  /** Beyond the table, each further step is this much less likely (geometric tail). */
  tail: z.number().gt(0).lt(1),
  /** What it was learned from. */
  runs: z.number().int().min(0),
  stages: z.number().int().min(0),
});
export type StageModel = z.infer<typeof StageModel>;

/** Stages longer than this are not considered (runs of thousands of steps stay cheap). */
const LONGEST_STAGE = 300;

function logLength(model: StageModel, length: number): number {
  const last = model.lengths.length;
  if (length < last) return Math.log(model.lengths[length - 1]!);
  return Math.log(model.lengths[last - 1]! * (1 - model.tail)) + (length - last) * Math.log(model.tail);
}

function logSumExp(values: number[]): number {
  const max = Math.max(...values);
  if (max === -Infinity) return max;
  let sum = 0;
  for (const value of values) sum += Math.exp(value - max);
  return max + Math.log(sum);
}

/** Log-likelihood ratio of a boundary at each gap, from its evidence (index 0 is unused). */
export function boundaryLikelihoods(evidence: number[], model: StageModel): number[] {
  const prior = Math.log(model.rate / (1 - model.rate));
  return evidence.map((score, index) => (index === 0 ? 0 : model.offset + model.scale * score - prior));
}

/**
 * Forward pass: `forward[t]` is the log-weight of all segmentations of steps [0, t) whose last stage
 * ends at t (a boundary at t when t < n). `terms(t)` lists, per length, the log-weight of the last stage.
 */
function forwardPass(n: number, likelihoods: number[], model: StageModel): { forward: number[]; terms: (t: number) => number[] } {
  const forward = new Array<number>(n + 1).fill(-Infinity);
  forward[0] = 0;
  const terms = (t: number) => {
    const out: number[] = [];
    for (let length = 1; length <= Math.min(t, LONGEST_STAGE); length += 1) out.push(forward[t - length]! + logLength(model, length));
    return out;
  };
  for (let t = 1; t <= n; t += 1) forward[t] = logSumExp(terms(t)) + (t < n ? likelihoods[t]! : 0);
  return { forward, terms };
}

/** Posterior probability of a stage boundary before each step (index 0 is 0). */
export function boundaryPosteriors(evidence: number[], model: StageModel): number[] {
  const n = evidence.length;
  if (n < 2) return new Array<number>(n).fill(0);
  const likelihoods = boundaryLikelihoods(evidence, model);
  const { forward } = forwardPass(n, likelihoods, model);
  const backward = new Array<number>(n + 1).fill(-Infinity);
  backward[n] = 0;
  for (let t = n - 1; t >= 0; t -= 1) {
    const terms: number[] = [];
    for (let length = 1; length <= Math.min(n - t, LONGEST_STAGE); length += 1) {
      terms.push(logLength(model, length) + (t + length < n ? likelihoods[t + length]! : 0) + backward[t + length]!);
    }
    backward[t] = logSumExp(terms);
  }
  return Array.from({ length: n }, (_, t) => (t === 0 ? 0 : Math.exp(forward[t]! + backward[t]! - forward[n]!)));
}

/**
 * Segmentations drawn from the posterior (forward filtering, backward sampling), each as the sorted
 * indices of the steps that open a stage (0 excluded). A fixed seed keeps the result deterministic.
 */
export function sampleSegmentations(evidence: number[], model: StageModel, count: number, seed = 7): number[][] {
  const n = evidence.length;
  if (n < 2) return Array.from({ length: count }, () => []);
  const { terms } = forwardPass(n, boundaryLikelihoods(evidence, model), model);
  const random = seededRandom(seed);
  const cache = new Map<number, { lengths: number[]; total: number }>();
  const lastStage = (t: number) => {
    let entry = cache.get(t);
    if (!entry) {
      const weights = terms(t);
      entry = { lengths: weights, total: logSumExp(weights) };
      cache.set(t, entry);
    }
    return entry;
  };
  const samples: number[][] = [];
  for (let draw = 0; draw < count; draw += 1) {
    const boundaries: number[] = [];
    let t = n;
    while (t > 0) {
      const { lengths, total } = lastStage(t);
      let u = random();
      let length = lengths.length;
      for (let index = 0; index < lengths.length; index += 1) {
        u -= Math.exp(lengths[index]! - total);
        if (u <= 0) {
          length = index + 1;
          break;
        }
      }
      t -= length;
      if (t > 0) boundaries.push(t);
    }
    samples.push(boundaries.reverse());
  }
  return samples;
}

/** A small linear congruential generator: the same seed gives the same draws on every platform. */
function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    return state / 4294967296;
  };
}
