import { Command } from "commander";
import { mkdir, readFile } from "node:fs/promises";
import path from "node:path";
import { extractorsReport } from "../extractors/registryReport.js";
import { ExtractorRegistry, type SpecVersion } from "../extractors/registry.js";
import { lineDiff } from "../extractors/registryDiff.js";
import { resolveHome } from "../memory/store.js";
import { writeFileAtomic } from "../outputs/write.js";
import { parseSpec } from "../schema/extractorSpec.js";
import { RunError, UsageError } from "../schema/errors.js";
import { homeOption, jsonOption } from "./options.js";

/**
 * `codetracer extractors …`: the registry of extractor specs and their history — what exists, how
 * each version came about, what changed between versions, which runs each parsed and how well.
 */

interface Flags {
  home?: string;
  json?: boolean;
}

function withRegistry<T>(flags: Flags, use: (registry: ExtractorRegistry) => T | Promise<T>): Promise<T> {
  const registry = ExtractorRegistry.open(resolveHome(flags.home));
  return Promise.resolve()
    .then(() => {
      registry.ensureShipped();
      return use(registry);
    })
    .finally(() => registry.close());
}

function print(flags: Flags, json: unknown, text: () => string): void {
  console.log(flags.json ? JSON.stringify(json, null, 2) : text());
}

function versionOf(registry: ExtractorRegistry, id: string, version?: string): SpecVersion {
  const found = version === undefined ? registry.latest(id) : registry.get(id, parseVersion(version));
  if (!found) throw new RunError(`no extractor ${id}${version ? ` version ${version}` : ""} in the registry (see \`codetracer extractors list\`)`);
  return found;
}

function parseVersion(text: string): number {
  const version = Number.parseInt(text.replace(/^v/, ""), 10);
  if (!Number.isInteger(version) || version < 1) throw new UsageError(`not a version number: ${text}`);
  return version;
}

export function extractorsCommand(): Command {
  const extractors = new Command("extractors").description("extractor specs: list, show, history, diff, export, import, report");
  for (const command of [listCommand(), showCommand(), historyCommand(), diffCommand(), exportCommand(), importCommand(), reportCommand()]) {
    extractors.addCommand(command.addOption(homeOption()).addOption(jsonOption()).exitOverride());
  }
  return extractors.exitOverride();
}

function listCommand(): Command {
  return new Command("list").description("every extractor with its latest version, runs parsed and mean coverage").action(async (flags: Flags) => {
    await withRegistry(flags, (registry) => {
      const rows = registry.list();
      print(flags, rows, () =>
        rows.length === 0
          ? "no extractors registered"
          : rows
              .map((row) => `${row.extractor_id.padEnd(44)} v${String(row.latest_version).padEnd(3)} ${String(row.versions).padStart(2)} versions  ${String(row.runs).padStart(4)} runs  coverage ${row.mean_coverage === null ? "  -  " : row.mean_coverage.toFixed(2)}  ${row.last_trigger.padEnd(14)} ${row.format}`)
              .join("\n"),
      );
    });
  });
}

function showCommand(): Command {
  return new Command("show")
    .description("one extractor version: its spec, trigger, parent and validation metrics")
    .argument("<id>")
    .option("--version <n>", "a version (default: the latest)")
    .action(async (id: string, flags: Flags & { version?: string }) => {
      await withRegistry(flags, (registry) => {
        const version = versionOf(registry, id, flags.version);
        print(flags, version, () =>
          [
            `${version.extractor_id} v${version.version} — ${version.format}`,
            `  trigger  ${version.trigger}${version.parent_version ? ` (parent v${version.parent_version})` : ""} · ${version.created_at}`,
            ...(version.metrics ? [`  metrics  score ${version.metrics.score} · coverage ${version.metrics.coverage} · ${version.metrics.steps} steps from ${version.metrics.records} records`] : []),
            ...(version.note ? [`  note     ${version.note}`] : []),
            JSON.stringify(version.spec, null, 2),
          ].join("\n"),
        );
      });
    });
}

function historyCommand(): Command {
  return new Command("history")
    .description("every version of an extractor (why it was made) and every run it parsed (reused or not, coverage)")
    .argument("<id>")
    .action(async (id: string, flags: Flags) => {
      await withRegistry(flags, (registry) => {
        const versions = registry.versions(id);
        if (versions.length === 0) throw new RunError(`no extractor ${id} in the registry (see \`codetracer extractors list\`)`);
        const runs = registry.runs(id);
        const json = { extractor_id: id, versions: versions.map(({ spec: _spec, ...rest }) => rest), runs };
        print(flags, json, () =>
          [
            `${id}: ${versions.length} version(s), ${runs.length} run(s) parsed`,
            ...versions.map((version) => `  v${version.version}  ${version.created_at}  ${version.trigger.padEnd(14)} parent ${version.parent_version ? `v${version.parent_version}` : "-"}  ${version.metrics ? `score ${version.metrics.score} coverage ${version.metrics.coverage}` : ""}`),
            "  runs:",
            ...runs.map((run) => `    v${run.version}  ${run.reused ? `reused (similarity ${run.similarity ?? "?"})` : "made for it"}  coverage ${run.coverage ?? "-"}  ${run.steps} steps${run.changed ? "  STEPS CHANGED under the same version" : ""}  ${run.run_path}`),
          ].join("\n"),
        );
      });
    });
}

function diffCommand(): Command {
  return new Command("diff")
    .description("what changed in a spec between two versions (a line diff of the JSON)")
    .argument("<id>")
    .argument("<v1>")
    .argument("<v2>")
    .action(async (id: string, v1: string, v2: string, flags: Flags) => {
      await withRegistry(flags, (registry) => {
        const before = versionOf(registry, id, v1);
        const after = versionOf(registry, id, v2);
        const lines = lineDiff(JSON.stringify(before.spec, null, 2), JSON.stringify(after.spec, null, 2));
        print(flags, { extractor_id: id, from: before.version, to: after.version, diff: lines }, () => [`--- ${id} v${before.version}`, `+++ ${id} v${after.version}`, ...lines.map((line) => `${line.op}${line.text}`)].join("\n"));
      });
    });
}

function exportCommand(): Command {
  return new Command("export")
    .description("print a spec (or write it with --out) to edit and import again")
    .argument("<id>")
    .option("--version <n>", "a version (default: the latest)")
    .option("--out <file>", "write the spec to this file")
    .action(async (id: string, flags: Flags & { version?: string; out?: string }) => {
      await withRegistry(flags, async (registry) => {
        const text = `${JSON.stringify(versionOf(registry, id, flags.version).spec, null, 2)}\n`;
        if (!flags.out) return void process.stdout.write(text);
        await mkdir(path.dirname(path.resolve(flags.out)), { recursive: true });
        await writeFileAtomic(flags.out, text);
      });
    });
}

function importCommand(): Command {
  return new Command("import")
    .description("register a spec file (validated first); a changed spec of a known id becomes a new version (trigger user_edit)")
    .argument("<file>")
    .action(async (file: string, flags: Flags) => {
      let raw: unknown;
      try {
        raw = JSON.parse(await readFile(file, "utf8"));
      } catch (err) {
        throw new RunError(`${file}: not a readable JSON spec (${(err as Error).message})`);
      }
      const parsed = parseSpec(raw);
      if (!parsed.ok) throw new RunError(`${file}: invalid extractor spec: ${parsed.error}`);
      await withRegistry(flags, (registry) => {
        const { version, created } = registry.register({ spec: parsed.spec, trigger: "user_edit", note: `imported from ${path.resolve(file)}` });
        print(flags, { extractor_id: version.extractor_id, version: version.version, created }, () => (created ? `registered ${version.extractor_id} v${version.version}` : `unchanged: ${version.extractor_id} v${version.version} is already this spec`));
      });
    });
}

function reportCommand(): Command {
  return new Command("report")
    .description("write an HTML page: each extractor's version timeline, what triggered each version, coverage over the runs it parsed")
    .requiredOption("--out <file>", "the HTML file to write")
    .action(async (flags: Flags & { out: string }) => {
      await withRegistry(flags, async (registry) => {
        const html = extractorsReport(registry);
        await mkdir(path.dirname(path.resolve(flags.out)), { recursive: true });
        await writeFileAtomic(flags.out, html);
        print(flags, { out: flags.out, extractors: registry.list().length }, () => `wrote ${flags.out}`);
      });
    });
}
