import { Command } from "commander";
import { SingleBar, Presets } from "cli-progress";
import { exportMemory, memoryStats, rebuildMemory, searchMemory, type MemoryStats } from "../memory/commands.js";
import type { MemoryHit } from "../memory/vectorStore.js";
import { importLabelledRuns, type ImportEvent, type ImportResult } from "../memory/import.js";
import { resolveHome } from "../memory/store.js";
import { writeFileAtomic } from "../outputs/write.js";
import { NamespaceName } from "../memory/documents.js";
import { RunError, UsageError } from "../schema/errors.js";
import { homeOption, jsonOption } from "./options.js";

interface Flags {
  home?: string;
  json?: boolean;
}

export function memoryCommand(): Command {
  const memory = new Command("memory").description("the memory of past failures: import labels, inspect, search, export, rebuild");
  for (const command of [importCommand(), statsCommand(), searchCommand(), exportCommand(), rebuildCommand()]) {
    memory.addCommand(command.addOption(homeOption()).addOption(jsonOption()).exitOverride());
  }
  return memory.exitOverride();
}

function importCommand(): Command {
  return new Command("import")
    .description("load a labelled manifest (.jsonl) as confirmed failure cases; re-running skips runs already imported")
    .argument("<manifest>", "eval manifest with labels, one JSON record per line")
    .action(async (manifest: string, flags: Flags) => {
      const progress = importProgress(!flags.json);
      const result = await importLabelledRuns(manifest, { home: resolveHome(flags.home), onStart: progress.start, onRecord: progress.tick });
      progress.stop();
      if (flags.json) console.log(JSON.stringify(result, null, 2));
      else console.log(describeImport(result));
      if (result.imported + result.skipped === 0 && result.errors.length > 0) throw new RunError(`no run of ${manifest} could be imported`);
    });
}

function statsCommand(): Command {
  return new Command("stats")
    .description("documents per namespace in SQLite and in the index (repairing an index that is missing, corrupt or behind)")
    .action(async (flags: Flags) => {
      const stats = await memoryStats({ home: resolveHome(flags.home) });
      console.log(flags.json ? JSON.stringify(stats, null, 2) : describeStats(stats));
    });
}

function searchCommand(): Command {
  return new Command("search")
    .description("the remembered documents nearest to a text")
    .argument("<text>", "what to look for (e.g. an error message)")
    .option("-k <n>", "how many results", "5")
    .option("--namespace <name>", "failures or fingerprints", "failures")
    .option("--confirmed", "only cases a person confirmed")
    .action(async (text: string, flags: Flags & { k: string; namespace: string; confirmed?: boolean }) => {
      const k = Number.parseInt(flags.k, 10);
      if (!Number.isInteger(k) || k < 1) throw new UsageError("-k must be a positive integer");
      const hits = await searchMemory(text, { home: resolveHome(flags.home), k, namespace: namespace(flags.namespace), confirmedOnly: flags.confirmed === true });
      if (flags.json) console.log(JSON.stringify(hits, null, 2));
      else if (hits.length === 0) console.log("nothing remembered matches");
      else for (const hit of hits) console.log(describeHit(hit));
    });
}

function exportCommand(): Command {
  return new Command("export")
    .description("every remembered document as JSONL (namespace, id, text, metadata, embedding, dates)")
    .option("--out <file>", "write to a file instead of stdout")
    .option("--namespace <name>", "only this namespace")
    .action(async (flags: Flags & { out?: string; namespace?: string }) => {
      const options = { home: resolveHome(flags.home), ...(flags.namespace ? { namespace: namespace(flags.namespace) } : {}) };
      if (!flags.out) {
        const count = await exportMemory(options, (doc) => process.stdout.write(`${JSON.stringify(doc)}\n`));
        if (flags.json) process.stderr.write(`${JSON.stringify({ documents: count })}\n`);
        return;
      }
      // Written atomically: an interrupted or failed export never leaves half a file (nor a temp file).
      const lines: string[] = [];
      const count = await exportMemory(options, (doc) => lines.push(`${JSON.stringify(doc)}\n`));
      await writeFileAtomic(flags.out, lines);
      console.log(flags.json ? JSON.stringify({ documents: count, out: flags.out }) : `${count} documents → ${flags.out}`);
    });
}

function rebuildCommand(): Command {
  return new Command("rebuild")
    .description("rebuild the HNSW indexes from SQLite (the source of truth)")
    .option("--namespace <name>", "only this namespace")
    .action(async (flags: Flags & { namespace?: string }) => {
      const reports = await rebuildMemory({ home: resolveHome(flags.home), ...(flags.namespace ? { namespace: namespace(flags.namespace) } : {}) });
      if (flags.json) console.log(JSON.stringify(reports, null, 2));
      else for (const report of reports) console.log(`${report.namespace.padEnd(14)} ${report.indexed}/${report.documents} documents indexed in ${report.seconds.toFixed(2)} s`);
    });
}

function namespace(name: string): string {
  const parsed = NamespaceName.safeParse(name);
  if (!parsed.success) throw new UsageError(`--namespace: ${parsed.error.issues[0]!.message}`);
  return parsed.data;
}

/** A hit in two lines: score, id and (for failure cases) verdict; then the onset, or the text's first line. */
function describeHit(hit: MemoryHit): string {
  const { confirmed, category, onset } = hit.metadata as { confirmed?: boolean; category?: string; onset?: { step_id?: number; action?: string } | null };
  const tags = [confirmed === true ? "confirmed" : confirmed === false ? "unconfirmed" : "", category ?? ""].filter(Boolean).join(", ");
  const detail = onset?.action ? `onset step ${onset.step_id}: ${onset.action}` : hit.text.split("\n")[0]!;
  return `${hit.similarity.toFixed(3)}  ${hit.id}${tags ? `  (${tags})` : ""}\n       ${detail.slice(0, 140)}`;
}

function describeStats(stats: MemoryStats): string {
  const lines = [`${stats.home} · embedding ${stats.embedding} · ${stats.runs} runs analyzed · ${stats.feedback.total} feedback entries`];
  for (const ns of stats.namespaces) {
    const repaired = ns.found === "fresh" || ns.found === "empty" ? "" : `  (index was ${ns.found}${ns.reason ? `: ${ns.reason}` : ""}; rebuilt)`;
    lines.push(`  ${ns.namespace.padEnd(14)} ${String(ns.documents).padStart(6)} in SQLite · ${String(ns.indexed).padStart(6)} indexed · ${ns.confirmed} confirmed${repaired}`);
  }
  lines.push(stats.consistent ? "  index and SQLite agree" : "  index and SQLite DISAGREE");
  return lines.join("\n");
}

function describeImport(result: ImportResult): string {
  const lines = [`${result.records} records: ${result.imported} imported, ${result.skipped} already in memory, ${result.errors.length} error · ${result.confirmed_cases} confirmed cases in memory`];
  if (result.unresolved_labels) lines.push(`  ${result.unresolved_labels} incorrect/unuseful labels named no step and were dropped`);
  for (const error of result.errors.slice(0, 20)) lines.push(`  error  ${error.id}: ${error.error}`);
  if (result.errors.length > 20) lines.push(`  … and ${result.errors.length - 20} more errors (--json lists them all)`);
  return lines.join("\n");
}

/** A progress bar on a terminal; nothing otherwise (the summary lists the errors). */
function importProgress(enabled: boolean) {
  const tty = enabled && process.stderr.isTTY;
  const bar = new SingleBar({ format: "{bar} {value}/{total} runs · {last}", hideCursor: true, stream: process.stderr }, Presets.shades_classic);
  let done = 0;
  return {
    start: (total: number) => {
      if (tty) bar.start(total, 0, { last: "" });
    },
    tick: (event: ImportEvent) => {
      done += 1;
      if (tty) bar.update(done, { last: `${event.status} ${event.id.slice(-40)}` });
    },
    stop: () => {
      if (tty) bar.stop();
    },
  };
}
