import type { Embeddings } from "@langchain/core/embeddings";
import type { HNSWLib } from "@langchain/community/vectorstores/hnswlib";
import type Database from "better-sqlite3";
import { createHash, randomBytes } from "node:crypto";
import { closeSync, existsSync, fsyncSync, mkdirSync, openSync, readFileSync, readdirSync, renameSync, rmSync, statSync, writeFileSync } from "node:fs";
import path from "node:path";
import { z } from "zod";

/**
 * On-disk HNSW snapshots of one namespace, laid out so that a reader never sees half a save:
 *
 *   <home>/vectors/<namespace>/CURRENT                 names the published snapshot
 *   <home>/vectors/<namespace>/snap-<generation>-<r>/  hnswlib.index, args.json, docstore.json (HNSWLib.save)
 *                                                      + snapshot.json (what built it, file checksums)
 *   <home>/vectors/<namespace>/.tmp-<pid>-<r>/         a save in progress, private to its writer
 *
 * A writer saves into its own temp dir, then publishes by renaming it and swapping CURRENT (write a
 * temp file + rename), under SQLite's write lock so publishes happen one at a time. A process killed
 * mid-save leaves only a temp dir, which a later publish removes; the OS releases SQLite's lock of a
 * dead process, so there is no stale lock to detect.
 */

const CURRENT = "CURRENT";
const MANIFEST = "snapshot.json";
/** Temp dirs of live writers older than this are leftovers of a reused pid. */
const ORPHAN_AGE_MS = 60 * 60 * 1000;

export const SnapshotManifest = z.object({
  format: z.literal(1),
  /** The SQLite store the snapshot was built from: a copied or recreated database does not trust it. */
  store_uid: z.string(),
  namespace: z.string(),
  embedding: z.string(),
  dimensions: z.number().int().min(1),
  /** The namespace generation in SQLite the snapshot reflects. */
  generation: z.number().int().min(0),
  /** Live documents (replaced documents stay in the graph as deleted points until the next rebuild). */
  count: z.number().int().min(0),
  deleted: z.number().int().min(0),
  files: z.record(z.string(), z.object({ bytes: z.number().int().min(0), sha256: z.string() })),
  created_at: z.string(),
});
export type SnapshotManifest = z.infer<typeof SnapshotManifest>;

export type SnapshotState =
  | { status: "missing" }
  | { status: "corrupt"; reason: string }
  | { status: "ok"; dir: string; manifest: SnapshotManifest };

export function namespaceDir(home: string, namespace: string): string {
  return path.join(home, "vectors", namespace);
}

/** The published snapshot of a namespace, with every file checked against its recorded size and checksum. */
export function readPublished(nsDir: string): SnapshotState {
  let name: string;
  try {
    name = (JSON.parse(readFileSync(path.join(nsDir, CURRENT), "utf8")) as { snapshot?: unknown }).snapshot as string;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return { status: "missing" };
    return { status: "corrupt", reason: "CURRENT is unreadable" };
  }
  if (typeof name !== "string" || !/^snap-[\w-]+$/.test(name)) return { status: "corrupt", reason: "CURRENT names no snapshot" };
  const dir = path.join(nsDir, name);
  if (!existsSync(dir)) return { status: "missing" };
  let manifest: SnapshotManifest;
  try {
    manifest = SnapshotManifest.parse(JSON.parse(readFileSync(path.join(dir, MANIFEST), "utf8")));
  } catch {
    return { status: "corrupt", reason: `${name}/${MANIFEST} is unreadable` };
  }
  for (const [file, expected] of Object.entries(manifest.files)) {
    const problem = checkFile(path.join(dir, file), expected);
    if (problem) return { status: problem === "missing" ? "missing" : "corrupt", reason: `${name}/${file} ${problem}` };
  }
  return { status: "ok", dir, manifest };
}

function checkFile(file: string, expected: { bytes: number; sha256: string }): string | undefined {
  let content: Buffer;
  try {
    content = readFileSync(file);
  } catch {
    return "missing";
  }
  if (content.length !== expected.bytes) return `has ${content.length} bytes, expected ${expected.bytes}`;
  if (sha256(content) !== expected.sha256) return "fails its checksum";
  return undefined;
}

/** Load a checked snapshot into an HNSWLib store. */
export async function loadStore(dir: string, embeddings: Embeddings): Promise<HNSWLib> {
  const { HNSWLib } = await loadHnswLib();
  return HNSWLib.load(dir, embeddings);
}

/** Save a store into a fresh private temp dir (complete, checksummed and flushed to disk); returns the dir. */
export async function saveToTemp(nsDir: string, store: HNSWLib, manifest: Omit<SnapshotManifest, "files" | "created_at">): Promise<string> {
  mkdirSync(nsDir, { recursive: true });
  const temp = path.join(nsDir, `.tmp-${process.pid}-${randomBytes(4).toString("hex")}`);
  try {
    await store.save(temp);
    const files: SnapshotManifest["files"] = {};
    for (const file of readdirSync(temp)) {
      const content = readFileSync(path.join(temp, file));
      files[file] = { bytes: content.length, sha256: sha256(content) };
    }
    const full: SnapshotManifest = { ...manifest, files, created_at: new Date().toISOString() };
    writeFileSync(path.join(temp, MANIFEST), `${JSON.stringify(full, null, 2)}\n`);
    for (const file of readdirSync(temp)) fsyncPath(path.join(temp, file));
    fsyncPath(temp);
    return temp;
  } catch (err) {
    rmSync(temp, { recursive: true, force: true });
    throw err;
  }
}

/**
 * Make a saved temp dir the namespace's published snapshot, unless an equal or newer one (same
 * store, same embedding) was published meanwhile. Runs under SQLite's write lock: one publisher at
 * a time. Returns whether the temp dir was published (it is removed otherwise).
 */
export function publish(db: Database.Database, nsDir: string, temp: string, manifest: Pick<SnapshotManifest, "store_uid" | "embedding" | "generation">): boolean {
  const publishLocked = db.transaction((): boolean => {
    const current = peekPublished(nsDir);
    const newerExists = current !== undefined && current.store_uid === manifest.store_uid && current.embedding === manifest.embedding && current.generation >= manifest.generation;
    if (newerExists) {
      rmSync(temp, { recursive: true, force: true });
      return false;
    }
    const name = `snap-${String(manifest.generation).padStart(8, "0")}-${randomBytes(4).toString("hex")}`;
    renameSync(temp, path.join(nsDir, name));
    const previous = currentName(nsDir);
    writeCurrent(nsDir, name);
    collectGarbage(nsDir, new Set([name, ...(previous ? [previous] : [])]));
    return true;
  });
  return publishLocked.immediate();
}

/** CURRENT is swapped by rename: readers see the old name or the new one, never a torn file. */
function writeCurrent(nsDir: string, name: string): void {
  const temp = path.join(nsDir, `.tmp-${process.pid}-${randomBytes(4).toString("hex")}-current`);
  writeFileSync(temp, `${JSON.stringify({ snapshot: name })}\n`);
  fsyncPath(temp);
  renameSync(temp, path.join(nsDir, CURRENT));
  fsyncPath(nsDir);
}

function currentName(nsDir: string): string | undefined {
  try {
    return (JSON.parse(readFileSync(path.join(nsDir, CURRENT), "utf8")) as { snapshot?: string }).snapshot;
  } catch {
    return undefined;
  }
}

/** The published manifest without verifying the files: cheap, enough to decide whether to load or publish. */
export function peekPublished(nsDir: string): SnapshotManifest | undefined {
  const name = currentName(nsDir);
  if (!name) return undefined;
  try {
    return SnapshotManifest.parse(JSON.parse(readFileSync(path.join(nsDir, name, MANIFEST), "utf8")));
  } catch {
    return undefined;
  }
}

/**
 * Remove snapshots no longer published (the previous one stays, for a reader that picked it just
 * before the swap) and the temp dirs of writers that died mid-save.
 */
function collectGarbage(nsDir: string, keep: Set<string>): void {
  for (const entry of readdirSync(nsDir)) {
    const full = path.join(nsDir, entry);
    if (entry.startsWith("snap-") && !keep.has(entry)) rmSync(full, { recursive: true, force: true });
    const temp = /^\.tmp-(\d+)-/.exec(entry);
    if (temp && isOrphan(Number(temp[1]), full)) rmSync(full, { recursive: true, force: true });
  }
}

function isOrphan(pid: number, file: string): boolean {
  if (!processAlive(pid)) return true;
  try {
    return Date.now() - statSync(file).mtimeMs > ORPHAN_AGE_MS;
  } catch {
    return false;
  }
}

function processAlive(pid: number): boolean {
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}

function fsyncPath(file: string): void {
  const fd = openSync(file, "r");
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

function sha256(content: Buffer): string {
  return createHash("sha256").update(content).digest("hex");
}

/**
 * The HNSW library, loaded on first use: most analyses never touch a vector index (empty memory),
 * and loading it costs a noticeable part of the CLI's start-up.
 */
export function loadHnswLib(): Promise<typeof import("@langchain/community/vectorstores/hnswlib")> {
  return import("@langchain/community/vectorstores/hnswlib");
}
