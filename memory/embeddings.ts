import { Embeddings } from "@langchain/core/embeddings";
import type { OpenAIEmbeddings } from "@langchain/openai";

/** Dimensions of the default offline embedding: enough buckets that hashed features rarely collide. */
export const DEFAULT_DIMENSIONS = 512;

/** Texts are cut here before embedding: a failure case is a few hundred words; a log would only add noise. */
const MAX_EMBEDDED_CHARS = 8000;

/** Words so common they would make every text look alike. */
const STOPWORDS = new Set(
  "a an and are as at be but by for from has have if in into is it its of on or so that the then there this to was were will with not no".split(" "),
);

/**
 * Deterministic offline embedding: word tokens plus character trigrams of each word (fastText-style,
 * so `install`, `installed`, `pip-install` land near each other), hashed into a fixed number of
 * buckets with a random-looking sign, sub-linear term weights, L2-normalised. Same text, same vector,
 * on every machine, with no model and no network.
 */
export class HashedNgramEmbeddings extends Embeddings {
  readonly id: string;
  readonly dimensions: number;

  constructor(options: { dimensions?: number } = {}) {
    super({});
    this.dimensions = options.dimensions ?? DEFAULT_DIMENSIONS;
    if (!Number.isInteger(this.dimensions) || this.dimensions < 16) throw new Error(`embedding dimensions must be an integer >= 16, got ${this.dimensions}`);
    this.id = `hashed-ngrams-v1-${this.dimensions}`;
  }

  async embedDocuments(texts: string[]): Promise<number[][]> {
    return texts.map((text) => this.embedText(text));
  }

  async embedQuery(text: string): Promise<number[]> {
    return this.embedText(text);
  }

  /** The vector of one text (synchronous: nothing here waits on anything). */
  embedText(text: string): number[] {
    const counts = new Map<string, number>();
    for (const [feature, weight] of features(text)) counts.set(feature, (counts.get(feature) ?? 0) + weight);
    const vector = new Array<number>(this.dimensions).fill(0);
    for (const [feature, count] of counts) {
      const hash = fnv1a(feature);
      // The sign bit comes from the high bits, the bucket from the low ones: collisions cancel out on average.
      vector[hash % this.dimensions]! += (hash & 0x80000000 ? -1 : 1) * (1 + Math.log(count));
    }
    return l2Normalise(vector);
  }
}

/** The features of a text with their weights: whole words count double, trigrams once. */
function* features(text: string): Generator<[string, number]> {
  // Digits are folded so that `exit code 1` and `exit code 127`, or two timestamps, look alike.
  const words = text.slice(0, MAX_EMBEDDED_CHARS).toLowerCase().replace(/\d+/g, "0").match(/[\p{L}\p{N}_]+/gu) ?? [];
  for (const word of words) {
    if (STOPWORDS.has(word)) continue;
    yield [`w:${word}`, 2];
    const padded = `#${word}#`;
    for (let start = 0; start + 3 <= padded.length; start += 1) yield [`g:${padded.slice(start, start + 3)}`, 1];
  }
}

/** 32-bit FNV-1a over UTF-16 code units: tiny, fast and stable across platforms. */
function fnv1a(text: string): number {
  let hash = 0x811c9dc5;
  for (let index = 0; index < text.length; index += 1) {
    hash ^= text.charCodeAt(index);
    hash = Math.imul(hash, 0x01000193);
  }
  return hash >>> 0;
}

/** Scale to unit length; a text with no features stays the zero vector (similar to nothing). */
export function l2Normalise(vector: number[]): number[] {
  const norm = Math.sqrt(vector.reduce((sum, value) => sum + value * value, 0));
  return norm === 0 ? vector : vector.map((value) => value / norm);
}

/** Cosine similarity of two vectors (1 = same direction). */
export function cosineSimilarity(a: number[], b: number[]): number {
  let dot = 0;
  let normA = 0;
  let normB = 0;
  for (let index = 0; index < a.length; index += 1) {
    dot += a[index]! * b[index]!;
    normA += a[index]! * a[index]!;
    normB += b[index]! * b[index]!;
  }
  return normA === 0 || normB === 0 ? 0 : dot / Math.sqrt(normA * normB);
}

/**
 * The stable name of an embedding, recorded with every index it builds: an index is only ever
 * searched with the embedding that built it.
 */
export function embeddingId(embeddings: Embeddings): string {
  if (isOpenAIEmbeddings(embeddings)) return `openai:${embeddings.model}${embeddings.dimensions ? `-${embeddings.dimensions}` : ""}`;
  const own = (embeddings as { id?: unknown }).id;
  if (typeof own === "string" && own.length > 0) return own;
  return `custom:${embeddings.constructor.name}`;
}

/**
 * The embedding to use: OpenAI's when both OPENAI_API_KEY and CODETRACER_EMBEDDING_MODEL are set,
 * the offline hashed embedding otherwise. The model must be named explicitly (not implied by the key
 * alone) because switching embeddings re-indexes the whole memory, and many OpenAI-compatible
 * endpoints serve chat but no embeddings.
 */
export async function createEmbeddings(env: NodeJS.ProcessEnv = process.env): Promise<Embeddings> {
  const model = env.CODETRACER_EMBEDDING_MODEL?.trim();
  if (env.OPENAI_API_KEY && model) {
    // Loaded on first use, so offline runs do not pay for the OpenAI client at start-up.
    const { OpenAIEmbeddings } = await import("@langchain/openai");
    return new OpenAIEmbeddings({
      model,
      apiKey: env.OPENAI_API_KEY,
      maxRetries: 2,
      ...(env.OPENAI_BASE_URL ? { configuration: { baseURL: env.OPENAI_BASE_URL } } : {}),
    });
  }
  return new HashedNgramEmbeddings();
}

/** OpenAI's embeddings class is loaded lazily, so it is recognised by name rather than by instanceof. */
function isOpenAIEmbeddings(embeddings: Embeddings): embeddings is OpenAIEmbeddings {
  return embeddings.constructor.name === "OpenAIEmbeddings" && typeof (embeddings as { model?: unknown }).model === "string";
}
