import type { Embeddings } from "@langchain/core/embeddings";
import { Document } from "@langchain/core/documents";
import type { HNSWLib } from "@langchain/community/vectorstores/hnswlib";
import type Database from "better-sqlite3";
import { ensureMemorySchema, openDatabase } from "./db.js";
import { DocumentTable, MemoryDocumentInput, NamespaceName, type IndexableDocument, type StoredDocument } from "./documents.js";
import { createEmbeddings, embeddingId } from "./embeddings.js";
import { loadHnswLib, loadStore, namespaceDir, peekPublished, publish, readPublished, saveToTemp } from "./snapshot.js";

/** The namespaces every memory has: failure cases, and the format fingerprints of extractor evolution. */
export const FAILURES = "failures";
export const FINGERPRINTS = "fingerprints";
export const DEFAULT_NAMESPACES = [FAILURES, FINGERPRINTS] as const;

/** Search breadth of the HNSW graph: high enough that a few thousand cases are searched exactly. */
const SEARCH_EF = 200;
/** Replaced documents linger as deleted points; past this share of the graph it is rebuilt instead. */
const MAX_DELETED_SHARE = 0.5;
/** Texts embedded per call when vectors must be (re)computed. */
const EMBED_BATCH = 256;

export interface MemoryHit {
  id: string;
  /** Cosine similarity clamped to 0..1 (HNSWLib reports cosine distance: lower is closer). */
  similarity: number;
  metadata: Record<string, unknown>;
  text: string;
}

/** How the published index of a namespace compares with SQLite, before any repair. */
export interface IndexStatus {
  namespace: string;
  documents: number;
  generation: number;
  snapshot: "fresh" | "stale" | "missing" | "corrupt" | "other-embedding" | "other-store" | "empty";
  /** Live documents in the published snapshot (0 when there is none). */
  indexed: number;
  embedding?: string;
  reason?: string;
}

/** An HNSW index in this process's memory, and which SQLite generation it reflects. */
interface LiveIndex {
  store: HNSWLib;
  generation: number;
  /** Document id → HNSW label of its live point. */
  labels: Map<string, number>;
  deleted: number;
  published: boolean;
}

/**
 * Persistent vector memory: SQLite holds the documents (the truth), an HNSW index per namespace
 * (HNSWLib over hnswlib-node) makes them searchable and is rebuilt from SQLite whenever it is
 * missing, corrupt, built by another embedding or behind. Safe across processes: every write bumps
 * the namespace's generation in SQLite, and any process catches its index up before using it.
 */
export class VectorMemory {
  private readonly indexes = new Map<string, LiveIndex>();
  private readonly queues = new Map<string, Promise<unknown>>();
  private readonly docs: DocumentTable;

  private constructor(
    readonly home: string,
    private readonly db: Database.Database,
    readonly embeddings: Embeddings,
    /** The stable name of the embedding in use (e.g. `hashed-ngrams-v1-512`, `openai:<model>`). */
    readonly embedding: string,
    private readonly storeUid: string,
  ) {
    this.docs = new DocumentTable(db);
  }

  /** Open (creating if needed) the memory under a home directory. */
  static async open(home: string, options: { embeddings?: Embeddings } = {}): Promise<VectorMemory> {
    const db = openDatabase(home);
    try {
      const storeUid = ensureMemorySchema(db);
      const embeddings = options.embeddings ?? (await createEmbeddings());
      return new VectorMemory(home, db, embeddings, embeddingId(embeddings), storeUid);
    } catch (err) {
      db.close();
      throw err;
    }
  }

  /** Add documents; a document whose id exists replaces it. Unchanged documents cost nothing. */
  async add(namespace: string, docs: MemoryDocumentInput[]): Promise<void> {
    NamespaceName.parse(namespace);
    const changed = lastPerId(docs.map(asJsonDocument)).filter((doc) => !this.isUnchanged(namespace, doc));
    if (changed.length === 0) return;
    const vectors = await this.embeddings.embedDocuments(changed.map((doc) => doc.text));
    await this.exclusive(namespace, async () => {
      this.docs.upsert(namespace, changed.map((input, index) => ({ input, vector: vectors[index]! })), this.embedding);
      await this.ensureIndex(namespace);
    });
  }

  /** The k documents nearest to a text, most similar first; `filter` sees each document's metadata. */
  async search(namespace: string, text: string, k: number, filter?: (metadata: Record<string, unknown>) => boolean): Promise<MemoryHit[]> {
    NamespaceName.parse(namespace);
    if (!Number.isInteger(k) || k < 1) return [];
    return this.exclusive(namespace, async () => {
      const live = await this.ensureIndex(namespace);
      if (!live) return [];
      const query = await this.embeddings.embedQuery(text);
      live.store.index.setEf(Math.max(SEARCH_EF, k));
      const results = await live.store.similaritySearchVectorWithScore(query, Math.min(k, live.labels.size), filter ? (doc: Document) => filter(doc.metadata) : undefined);
      return results.map(([doc, distance]) => ({ id: doc.id!, similarity: clamp01(1 - distance), metadata: doc.metadata, text: doc.pageContent }));
    });
  }

  /** Documents in a namespace, as SQLite counts them. */
  count(namespace: string): number {
    return this.docs.count(namespace);
  }

  /** Documents in a namespace that a person confirmed (metadata `confirmed: true`). */
  confirmedCount(namespace: string): number {
    return this.docs.confirmedCount(namespace);
  }

  get(namespace: string, id: string): StoredDocument | undefined {
    return this.docs.get(namespace, id);
  }

  /** Every stored document, oldest write first (of one namespace, or of all). */
  documents(namespace?: string): Generator<StoredDocument> {
    return this.docs.iterate(namespace);
  }

  /** The default namespaces plus any other that holds documents. */
  namespaces(): string[] {
    return [...new Set([...DEFAULT_NAMESPACES, ...this.docs.namespaces()])];
  }

  /** How the published index of a namespace compares with SQLite, without repairing anything. */
  status(namespace: string): IndexStatus {
    const documents = this.docs.count(namespace);
    const generation = this.docs.generation(namespace);
    const base = { namespace, documents, generation, indexed: 0 };
    const state = readPublished(namespaceDir(this.home, namespace));
    if (state.status !== "ok") {
      if (documents === 0 && state.status === "missing") return { ...base, snapshot: "empty" };
      return { ...base, snapshot: state.status, ...(state.status === "corrupt" ? { reason: state.reason } : {}) };
    }
    const { manifest } = state;
    const described = { ...base, indexed: manifest.count, embedding: manifest.embedding };
    if (manifest.store_uid !== this.storeUid) return { ...described, snapshot: "other-store" };
    if (manifest.embedding !== this.embedding) return { ...described, snapshot: "other-embedding" };
    const fresh = manifest.generation === generation && manifest.count === documents;
    return { ...described, snapshot: fresh ? "fresh" : "stale" };
  }

  /** Bring a namespace's index up to date with SQLite (loading, catching up or rebuilding it); returns its size. */
  async sync(namespace: string): Promise<number> {
    NamespaceName.parse(namespace);
    return this.exclusive(namespace, async () => (await this.ensureIndex(namespace))?.labels.size ?? 0);
  }

  /** Rebuild indexes from SQLite alone (one namespace, or every namespace with documents). */
  async rebuild(namespace?: string): Promise<void> {
    const targets = namespace ? [NamespaceName.parse(namespace)] : this.namespaces();
    for (const target of targets) {
      await this.exclusive(target, async () => {
        const live = await this.build(target);
        if (live) await this.persist(target, live);
        this.remember(target, live);
      });
    }
  }

  close(): void {
    this.indexes.clear();
    this.db.close();
  }

  /** One index operation per namespace at a time within this process (calls may overlap on one instance). */
  private exclusive<T>(namespace: string, operation: () => Promise<T>): Promise<T> {
    const next = (this.queues.get(namespace) ?? Promise.resolve()).then(operation, operation);
    this.queues.set(namespace, next.catch(() => undefined));
    return next;
  }

  private isUnchanged(namespace: string, doc: MemoryDocumentInput): boolean {
    const existing = this.docs.get(namespace, doc.id);
    return existing !== undefined && existing.text === doc.text && JSON.stringify(existing.metadata) === JSON.stringify(doc.metadata);
  }

  /**
   * The index of a namespace at SQLite's current generation: the one in memory if current; else the
   * published snapshot if it is newer; caught up with what was written since; rebuilt from SQLite
   * when none is usable. Published again whenever it changed.
   */
  private async ensureIndex(namespace: string): Promise<LiveIndex | undefined> {
    const cached = this.indexes.get(namespace);
    if (cached && cached.generation === this.docs.generation(namespace)) return cached;
    let live = cached;
    const published = peekPublished(namespaceDir(this.home, namespace));
    if (!live || (published && published.generation > live.generation)) live = (await this.loadPublished(namespace)) ?? live;
    if (live && !(await this.catchUp(namespace, live))) live = undefined;
    live ??= await this.build(namespace);
    if (live && !live.published) await this.persist(namespace, live);
    this.remember(namespace, live);
    return live;
  }

  private remember(namespace: string, live: LiveIndex | undefined): void {
    if (live) this.indexes.set(namespace, live);
    else this.indexes.delete(namespace);
  }

  /** The published snapshot, if it is intact, ours, built by our embedding and consistent. */
  private async loadPublished(namespace: string): Promise<LiveIndex | undefined> {
    // A snapshot can be collected between reading CURRENT and loading it: look once more before giving up.
    for (let attempt = 0; attempt < 2; attempt += 1) {
      const state = readPublished(namespaceDir(this.home, namespace));
      if (state.status !== "ok") return undefined;
      const { manifest, dir } = state;
      if (manifest.store_uid !== this.storeUid || manifest.embedding !== this.embedding) return undefined;
      if (manifest.generation > this.docs.generation(namespace)) return undefined;
      try {
        const store = await loadStore(dir, this.embeddings);
        const labels = labelsOf(store);
        if (labels.size !== manifest.count || store.index.getCurrentCount() !== manifest.count + manifest.deleted) return undefined;
        return { store, generation: manifest.generation, labels, deleted: manifest.deleted, published: true };
      } catch {
        continue;
      }
    }
    return undefined;
  }

  /**
   * Add to an index what SQLite gained since it was built. A replaced document's old point is marked
   * deleted (HNSWLib has no delete; hnswlib-node underneath does). False when a rebuild is better.
   */
  private async catchUp(namespace: string, live: LiveIndex): Promise<boolean> {
    const { generation, docs } = this.docs.changedSince(namespace, live.generation, this.embedding);
    if (docs.length > 0) {
      const vectors = await this.vectorsOf(namespace, docs);
      for (const doc of docs) {
        const label = live.labels.get(doc.id);
        if (label === undefined) continue;
        live.store.index.markDelete(label);
        live.store.docstore._docs.delete(String(label));
        live.deleted += 1;
      }
      await live.store.addVectors(vectors, docs.map(toDocument));
      live.labels = labelsOf(live.store);
      live.published = false;
    }
    live.generation = generation;
    const consistent = live.labels.size === this.docs.count(namespace) || this.docs.generation(namespace) !== generation;
    return consistent && live.deleted <= MAX_DELETED_SHARE * Math.max(live.labels.size, 16);
  }

  /** A fresh index of every document of a namespace (none when the namespace is empty: HNSW cannot be). */
  private async build(namespace: string): Promise<LiveIndex | undefined> {
    const { generation, docs } = this.docs.changedSince(namespace, 0, this.embedding);
    if (docs.length === 0) return undefined;
    const vectors = await this.vectorsOf(namespace, docs);
    const { HNSWLib } = await loadHnswLib();
    const store = new HNSWLib(this.embeddings, { space: "cosine", numDimensions: vectors[0]!.length });
    await store.addVectors(vectors, docs.map(toDocument));
    return { store, generation, labels: labelsOf(store), deleted: 0, published: false };
  }

  /** Vectors of documents under this memory's embedding: cached ones from SQLite, the rest embedded now and cached. */
  private async vectorsOf(namespace: string, docs: IndexableDocument[]): Promise<number[][]> {
    const missing = docs.filter((doc) => doc.vector === undefined);
    for (let start = 0; start < missing.length; start += EMBED_BATCH) {
      const batch = missing.slice(start, start + EMBED_BATCH);
      const vectors = await this.embeddings.embedDocuments(batch.map((doc) => doc.text));
      batch.forEach((doc, index) => (doc.vector = vectors[index]));
      this.docs.cacheVectors(namespace, this.embedding, batch.map((doc) => ({ id: doc.id, seq: doc.seq, vector: doc.vector! })));
    }
    return docs.map((doc) => doc.vector!);
  }

  private async persist(namespace: string, live: LiveIndex): Promise<void> {
    const nsDir = namespaceDir(this.home, namespace);
    const identity = { store_uid: this.storeUid, embedding: this.embedding, generation: live.generation };
    const temp = await saveToTemp(nsDir, live.store, {
      format: 1,
      ...identity,
      namespace,
      dimensions: live.store.index.getNumDimensions(),
      count: live.labels.size,
      deleted: live.deleted,
    });
    publish(this.db, nsDir, temp, identity);
    live.published = true;
  }
}

/** Validate a document and round-trip its metadata through JSON, as both stores will. */
function asJsonDocument(doc: MemoryDocumentInput): MemoryDocumentInput {
  const parsed = MemoryDocumentInput.parse(doc);
  return { ...parsed, metadata: JSON.parse(JSON.stringify(parsed.metadata)) as Record<string, unknown> };
}

function lastPerId(docs: MemoryDocumentInput[]): MemoryDocumentInput[] {
  return [...new Map(docs.map((doc) => [doc.id, doc])).values()];
}

function toDocument(doc: IndexableDocument): Document {
  return new Document({ id: doc.id, pageContent: doc.text, metadata: doc.metadata });
}

/** Document id → label, from the docstore (which only holds live points: deleted ones are removed from it). */
function labelsOf(store: HNSWLib): Map<string, number> {
  const labels = new Map<string, number>();
  for (const [label, doc] of store.docstore._docs) if (doc.id) labels.set(doc.id, Number(label));
  return labels;
}

function clamp01(value: number): number {
  return Math.min(1, Math.max(0, value));
}
