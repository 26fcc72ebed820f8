import { mkdtemp, readFile, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterEach, describe, expect, it, vi } from "vitest";
import { main } from "../cli/main.js";
import { ExtractorRegistry, specHash } from "../extractors/registry.js";
import { lineDiff } from "../extractors/registryDiff.js";
import { analyzeRun } from "../graphs/analyze.js";
import { parseSpec, type ExtractorSpec } from "../schema/extractorSpec.js";
import type { Step } from "../schema/step.js";
import { FORMATS, REPO } from "./corpus.js";

/** The registry of extractor versions and the `codetracer extractors` commands that show its history. */

const otelTrace = (name: string, file: string) => path.join(FORMATS, "otel", name, "tests/assets", file);

function chatSpec(textPath = "/content"): ExtractorSpec {
  const parsed = parseSpec({ id: "team-chat", format: "team chat", streams: [{ files: "*.json", decode: "json", records: "/messages", rules: [{ emit: "step", map: { actor: "/sender", text: textPath } }] }] });
  if (!parsed.ok) throw new Error(parsed.error);
  return parsed.spec;
}

async function home(): Promise<string> {
  return mkdtemp(path.join(os.tmpdir(), "registry-home-"));
}

/** Run the CLI, capturing what it prints. */
async function cli(args: string[]): Promise<{ code: number; out: string; err: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const log = vi.spyOn(console, "log").mockImplementation((...parts: unknown[]) => void out.push(parts.join(" ")));
  const error = vi.spyOn(console, "error").mockImplementation((...parts: unknown[]) => void err.push(parts.join(" ")));
  const write = vi.spyOn(process.stdout, "write").mockImplementation((chunk: string | Uint8Array) => (out.push(String(chunk)), true));
  try {
    return { code: await main(args), out: out.join("\n"), err: err.join("\n") };
  } finally {
    log.mockRestore();
    error.mockRestore();
    write.mockRestore();
  }
}

afterEach(() => vi.restoreAllMocks());

describe("the extractor registry", () => {
  it("a changed spec is a new version with its parent; an identical one is not (key order does not matter)", async () => {
    const registry = ExtractorRegistry.open(await home());
    try {
      const first = registry.register({ spec: chatSpec(), trigger: "user_edit" });
      const reordered = JSON.parse(JSON.stringify({ streams: chatSpec().streams, format: "team chat", id: "team-chat", spec_language: 1 })) as ExtractorSpec;
      expect(specHash(reordered)).toBe(specHash(chatSpec()));
      expect(registry.register({ spec: reordered, trigger: "user_edit" })).toMatchObject({ created: false, version: { version: 1 } });
      const second = registry.register({ spec: chatSpec("/text"), trigger: "low_coverage" });
      expect([first.version.version, second.version.version, second.version.parent_version, second.version.trigger]).toEqual([1, 2, 1, "low_coverage"]);
      expect(registry.versions("team-chat").map((version) => version.spec.streams[0]!.rules[0]!.map.text)).toEqual(["/content", "/text"]);
    } finally {
      registry.close();
    }
  });

  it("flags a run whose steps changed under the same version", async () => {
    const registry = ExtractorRegistry.open(await home());
    try {
      registry.register({ spec: chatSpec(), trigger: "user_edit" });
      const steps: Step[] = [{ id: 1, kind: "message", actor: "a", text: "hi", sources: [{ path: "x.json", pointer: "/messages/0" }] }];
      const once = registry.recordRun({ extractorId: "team-chat", version: 1, runPath: "/runs/x.json", steps, reused: false, coverage: 1 });
      const same = registry.recordRun({ extractorId: "team-chat", version: 1, runPath: "/runs/x.json", steps, reused: true, coverage: 1 });
      const moved = registry.recordRun({ extractorId: "team-chat", version: 1, runPath: "/runs/x.json", steps: [{ ...steps[0]!, text: "hello" }], reused: true, coverage: 1 });
      expect([once.changed, same.changed, moved.changed]).toEqual([0, 0, 1]);
    } finally {
      registry.close();
    }
  });

  it("diffs two versions line by line, folding what did not change", () => {
    const lines = lineDiff(JSON.stringify(chatSpec(), null, 2), JSON.stringify(chatSpec("/text"), null, 2));
    expect(lines.filter((line) => line.op !== " ").map((line) => `${line.op}${line.text.trim()}`)).toEqual(['-"text": "/content"', '+"text": "/text"']);
  });
});

describe("codetracer extractors", () => {
  it("history shows that the second of two similar runs reused the extractor", async () => {
    const dir = await home();
    const options = { llm: "off" as const, home: dir, remember: true, builtin: false };
    const { trace } = await analyzeRun(otelTrace("any-agent_google", "GOOGLE_trace.json"), options);
    await analyzeRun(otelTrace("any-agent_smolagents", "SMOLAGENTS_trace.json"), options);
    const listed = await cli(["extractors", "list", "--home", dir, "--json"]);
    expect(listed.code).toBe(0);
    expect(JSON.parse(listed.out)).toContainEqual(expect.objectContaining({ extractor_id: trace.run.extractor.id, latest_version: 1, runs: 2 }));
    const history = await cli(["extractors", "history", trace.run.extractor.id, "--home", dir]);
    expect(history.out).toMatch(/v1 .*unknown_format/);
    expect(history.out).toMatch(/made for it .*GOOGLE_trace\.json/);
    expect(history.out).toMatch(/reused \(similarity 0\.9\d*\) .*SMOLAGENTS_trace\.json/);
  });

  it("export → edit → import makes a user_edit version; show and diff see it; a hostile file is refused", async () => {
    const dir = await home();
    const file = path.join(dir, "spec.json");
    await writeFile(file, JSON.stringify(chatSpec()));
    expect(JSON.parse((await cli(["extractors", "import", file, "--home", dir, "--json"])).out)).toEqual({ extractor_id: "team-chat", version: 1, created: true });
    const exported = (await cli(["extractors", "export", "team-chat", "--home", dir])).out;
    await writeFile(file, exported.replace('"/content"', '"/body"'));
    expect(JSON.parse((await cli(["extractors", "import", file, "--home", dir, "--json"])).out)).toEqual({ extractor_id: "team-chat", version: 2, created: true });
    const shown = JSON.parse((await cli(["extractors", "show", "team-chat", "--home", dir, "--json"])).out);
    expect(shown).toMatchObject({ version: 2, parent_version: 1, trigger: "user_edit" });
    const diff = await cli(["extractors", "diff", "team-chat", "1", "2", "--home", dir]);
    expect(diff.out).toMatch(/^- +"text": "\/content"\n\+ +"text": "\/body"$/m);

    await writeFile(file, exported.replace('"*.json"', '"../../*.json"'));
    const refused = await cli(["extractors", "import", file, "--home", dir]);
    expect(refused.code).toBe(1);
    expect(refused.err).toMatch(/invalid extractor spec: \/streams\/0\/files/);
    expect((await cli(["extractors", "show", "nope", "--home", dir])).code).toBe(1);
  });

  it("report writes one self-contained HTML page: version timeline with triggers, coverage chart over parsed runs", async () => {
    const dir = await home();
    const options = { llm: "off" as const, home: dir, remember: true, builtin: false };
    await analyzeRun(path.join(REPO, "tests/fixtures/unseen/swarm-handoff-items.json"), options);
    await analyzeRun(otelTrace("any-agent_tinyagent", "TINYAGENT_trace.json"), options);
    await analyzeRun(otelTrace("any-agent_langchain", "LANGCHAIN_trace.json"), options);
    const out = path.join(dir, "report", "extractors.html");
    expect((await cli(["extractors", "report", "--out", out, "--home", dir])).code).toBe(0);
    const html = await readFile(out, "utf8");
    expect(html).toMatch(/^<!doctype html>/);
    expect(html).not.toMatch(/<script|<link|src="http/);
    expect(html.match(/<svg/g)?.length).toBe(2);
    expect(html).toContain("unknown_format");
    expect(html).toContain("harbor-atif.spec");
    expect(html).toMatch(/<circle[^>]*><title>v1 · coverage 1 · \d+ steps · reused/);
  });
});
