import type Database from "better-sqlite3";
import { createHash } from "node:crypto";
import { z } from "zod";
import { openDatabase } from "../memory/db.js";
import { ExtractorSpec, parseSpec, type ExtractorSpec as Spec } from "../schema/extractorSpec.js";
import type { Step } from "../schema/step.js";
import { shippedSpecs } from "./specs/index.js";
import { SpecMetrics } from "./synthesize/validate.js";

/**
 * The extractor registry: every version of every spec, why it was made, how well it read the run it
 * was made from, and every run it parsed since (SQLite under --home). Versions are immutable: a
 * changed spec is a new version whose parent is the one it replaced, so a run's steps never change
 * without a version on record.
 */

export const Trigger = z.enum(["unknown_format", "low_coverage", "user_edit", "llm_repair", "builtin"]);
export type Trigger = z.infer<typeof Trigger>;

export interface SpecVersion {
  extractor_id: string;
  version: number;
  parent_version: number | null;
  trigger: Trigger;
  format: string;
  spec: Spec;
  spec_hash: string;
  /** Text form of the fingerprint of the run the version was made from (extractors/fingerprint.ts). */
  fingerprint: string | null;
  metrics: SpecMetrics | null;
  note: string | null;
  created_at: string;
}

export interface ParsedRun {
  id: number;
  extractor_id: string;
  version: number;
  run_path: string;
  steps: number;
  coverage: number | null;
  score: number | null;
  /** 1 when the version was reused for this run (matched by fingerprint), 0 when made for it. */
  reused: number;
  similarity: number | null;
  steps_hash: string;
  /** 1 when the same version gave this run different steps before (engine or file changed). */
  changed: number;
  parsed_at: string;
}

export interface ExtractorSummary {
  extractor_id: string;
  format: string;
  latest_version: number;
  versions: number;
  runs: number;
  mean_coverage: number | null;
  last_trigger: Trigger;
  updated_at: string;
}

const SCHEMA = `
CREATE TABLE IF NOT EXISTS extractor_versions (
  extractor_id TEXT NOT NULL,
  version INTEGER NOT NULL,
  parent_version INTEGER,
  trigger TEXT NOT NULL,
  format TEXT NOT NULL,
  spec TEXT NOT NULL,
  spec_hash TEXT NOT NULL,
  fingerprint TEXT,
  metrics TEXT,
  note TEXT,
  created_at TEXT NOT NULL,
  PRIMARY KEY (extractor_id, version)
);
CREATE TABLE IF NOT EXISTS extractor_runs (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  extractor_id TEXT NOT NULL,
  version INTEGER NOT NULL,
  run_path TEXT NOT NULL,
  steps INTEGER NOT NULL,
  coverage REAL,
  score REAL,
  reused INTEGER NOT NULL,
  similarity REAL,
  steps_hash TEXT NOT NULL,
  changed INTEGER NOT NULL DEFAULT 0,
  parsed_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS extractor_runs_by_version ON extractor_runs(extractor_id, version);
CREATE INDEX IF NOT EXISTS extractor_runs_by_path ON extractor_runs(run_path);
`;

/** Key order does not change what a spec means; the hash must not depend on it. */
function canonical(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(canonical);
  if (value && typeof value === "object") return Object.fromEntries(Object.keys(value).sort().map((key) => [key, canonical((value as Record<string, unknown>)[key])]));
  return value;
}

export function specHash(spec: Spec): string {
  return createHash("sha256").update(JSON.stringify(canonical(spec))).digest("hex").slice(0, 16);
}

/** What a run's steps were, so a later parse can tell whether they changed. */
export function stepsHash(steps: Step[]): string {
  return createHash("sha256").update(JSON.stringify(steps.map(({ kind: _kind, ...step }) => canonical(step)))).digest("hex").slice(0, 16);
}

interface VersionRow extends Omit<SpecVersion, "spec" | "metrics"> {
  spec: string;
  metrics: string | null;
}

/** A spec chosen for the run being analysed: which version, and how it was chosen. */
export interface ActiveSpec {
  spec: Spec;
  version: number;
  trigger: Trigger;
  /** True when a registered version was reused for this run (matched by fingerprint). */
  reused: boolean;
  similarity?: number;
  metrics?: SpecMetrics;
  /** False when the version is only in memory (analysis without --remember, e.g. eval). */
  persisted: boolean;
}

export interface RegisterInput {
  spec: Spec;
  trigger: Trigger;
  /** The version this one replaces; defaults to the latest version of the same id. */
  parentVersion?: number | null;
  fingerprint?: string;
  metrics?: SpecMetrics;
  note?: string;
}

export class ExtractorRegistry {
  private constructor(private readonly db: Database.Database) {}

  static open(home: string): ExtractorRegistry {
    const db = openDatabase(home);
    db.exec(SCHEMA);
    return new ExtractorRegistry(db);
  }

  /**
   * Record a spec. An identical spec (same hash as the latest version of its id) is not a new
   * version: the existing one is returned with `created: false`.
   */
  register(input: RegisterInput): { version: SpecVersion; created: boolean } {
    const spec = ExtractorSpec.parse(input.spec);
    const hash = specHash(spec);
    return this.db.transaction(() => {
      const latest = this.latest(spec.id);
      if (latest && latest.spec_hash === hash) return { version: latest, created: false };
      const version = (latest?.version ?? 0) + 1;
      const parent = input.parentVersion === undefined ? (latest?.version ?? null) : input.parentVersion;
      const row = {
        extractor_id: spec.id,
        version,
        parent_version: parent,
        trigger: Trigger.parse(input.trigger),
        format: spec.format,
        spec: JSON.stringify(spec),
        spec_hash: hash,
        fingerprint: input.fingerprint ?? null,
        metrics: input.metrics ? JSON.stringify(SpecMetrics.parse(input.metrics)) : null,
        note: input.note ?? null,
        created_at: new Date().toISOString(),
      };
      this.db
        .prepare(`INSERT INTO extractor_versions (extractor_id, version, parent_version, trigger, format, spec, spec_hash, fingerprint, metrics, note, created_at)
                  VALUES (@extractor_id, @version, @parent_version, @trigger, @format, @spec, @spec_hash, @fingerprint, @metrics, @note, @created_at)`)
        .run(row);
      return { version: fromRow(row), created: true };
    }).immediate();
  }

  /** Register the specs shipped with CodeTracer (trigger `builtin`); a changed shipped spec becomes a new version. */
  ensureShipped(): void {
    for (const spec of shippedSpecs()) this.register({ spec, trigger: "builtin", note: "shipped with CodeTracer" });
  }

  latest(id: string): SpecVersion | undefined {
    const row = this.db.prepare("SELECT * FROM extractor_versions WHERE extractor_id = ? ORDER BY version DESC LIMIT 1").get(id) as VersionRow | undefined;
    return row ? fromRow(row) : undefined;
  }

  get(id: string, version: number): SpecVersion | undefined {
    const row = this.db.prepare("SELECT * FROM extractor_versions WHERE extractor_id = ? AND version = ?").get(id, version) as VersionRow | undefined;
    return row ? fromRow(row) : undefined;
  }

  versions(id: string): SpecVersion[] {
    return (this.db.prepare("SELECT * FROM extractor_versions WHERE extractor_id = ? ORDER BY version").all(id) as VersionRow[]).map(fromRow);
  }

  list(): ExtractorSummary[] {
    return this.db
      .prepare(
        `SELECT v.extractor_id, v.format, v.version AS latest_version, v.trigger AS last_trigger, v.created_at AS updated_at,
                (SELECT COUNT(*) FROM extractor_versions x WHERE x.extractor_id = v.extractor_id) AS versions,
                (SELECT COUNT(*) FROM extractor_runs r WHERE r.extractor_id = v.extractor_id) AS runs,
                (SELECT AVG(coverage) FROM extractor_runs r WHERE r.extractor_id = v.extractor_id) AS mean_coverage
         FROM extractor_versions v
         WHERE v.version = (SELECT MAX(version) FROM extractor_versions y WHERE y.extractor_id = v.extractor_id)
         ORDER BY v.created_at DESC, v.extractor_id`,
      )
      .all() as ExtractorSummary[];
  }

  /**
   * Record that a version parsed a run. When the same version parsed the same run before with other
   * steps, the change is flagged (`changed`): the steps moved without a new version on record.
   */
  recordRun(input: { extractorId: string; version: number; runPath: string; steps: Step[]; coverage?: number; score?: number; reused: boolean; similarity?: number }): ParsedRun {
    const hash = stepsHash(input.steps);
    const previous = this.db
      .prepare("SELECT steps_hash FROM extractor_runs WHERE extractor_id = ? AND version = ? AND run_path = ? ORDER BY id DESC LIMIT 1")
      .get(input.extractorId, input.version, input.runPath) as { steps_hash: string } | undefined;
    const row = {
      extractor_id: input.extractorId,
      version: input.version,
      run_path: input.runPath,
      steps: input.steps.length,
      coverage: input.coverage ?? null,
      score: input.score ?? null,
      reused: input.reused ? 1 : 0,
      similarity: input.similarity ?? null,
      steps_hash: hash,
      changed: previous && previous.steps_hash !== hash ? 1 : 0,
      parsed_at: new Date().toISOString(),
    };
    const result = this.db
      .prepare(`INSERT INTO extractor_runs (extractor_id, version, run_path, steps, coverage, score, reused, similarity, steps_hash, changed, parsed_at)
                VALUES (@extractor_id, @version, @run_path, @steps, @coverage, @score, @reused, @similarity, @steps_hash, @changed, @parsed_at)`)
      .run(row);
    return { id: Number(result.lastInsertRowid), ...row };
  }

  runs(id: string): ParsedRun[] {
    return this.db.prepare("SELECT * FROM extractor_runs WHERE extractor_id = ? ORDER BY id").all(id) as ParsedRun[];
  }

  /** The extractors (and versions) that parsed a run, latest first. */
  runHistory(runPath: string): ParsedRun[] {
    return this.db.prepare("SELECT * FROM extractor_runs WHERE run_path = ? ORDER BY id DESC").all(runPath) as ParsedRun[];
  }

  close(): void {
    this.db.close();
  }
}

function fromRow(row: VersionRow): SpecVersion {
  const parsed = parseSpec(JSON.parse(row.spec));
  if (!parsed.ok) throw new Error(`registry holds an invalid spec ${row.extractor_id} v${row.version}: ${parsed.error}`);
  return {
    extractor_id: row.extractor_id,
    version: row.version,
    parent_version: row.parent_version,
    trigger: Trigger.parse(row.trigger),
    format: row.format,
    spec: parsed.spec,
    spec_hash: row.spec_hash,
    fingerprint: row.fingerprint,
    metrics: row.metrics ? SpecMetrics.parse(JSON.parse(row.metrics)) : null,
    note: row.note,
    created_at: row.created_at,
  };
}
