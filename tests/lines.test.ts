import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { LineSplitter, readLines, type TextLine } from "../extractors/lines.js";
import { HARBOR } from "./corpus.js";

async function collect(lines: AsyncIterable<TextLine>): Promise<TextLine[]> {
  const all: TextLine[] = [];
  for await (const line of lines) all.push(line);
  return all;
}

describe("readLines (streaming line reader)", () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), "codetracer-lines-"));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it("gives the same lines and 1-based numbers as splitting the whole file, on a real JSONL log", async () => {
    const file = path.join(HARBOR, "train-fasttext__yedcSJz", "agent", "claude-code.txt");
    const whole = (await readFile(file, "utf8")).split("\n");
    if (whole.at(-1) === "") whole.pop();
    const streamed = await collect(readLines(file));
    expect(streamed.map((line) => line.text)).toEqual(whole);
    expect(streamed.map((line) => line.line)).toEqual(whole.map((_, index) => index + 1));
    expect(streamed.every((line) => !line.truncated)).toBe(true);
  });

  it("drops CRLF endings and a BOM, and keeps a last line without a newline", async () => {
    const file = path.join(dir, "crlf.jsonl");
    await writeFile(file, '\uFEFF{"a":1}\r\n\r\n{"b":2}');
    expect(await collect(readLines(file))).toEqual([
      { text: '{"a":1}', line: 1, truncated: false },
      { text: "", line: 2, truncated: false },
      { text: '{"b":2}', line: 3, truncated: false },
    ]);
  });

  it("reports a line over the limit as truncated instead of holding it, and keeps counting lines", async () => {
    const file = path.join(dir, "long.txt");
    await writeFile(file, `short\n${"x".repeat(5000)}\nafter\n`);
    const lines = await collect(readLines(file, { maxLineChars: 1000 }));
    expect(lines).toEqual([
      { text: "short", line: 1, truncated: false },
      { text: "", line: 2, truncated: true },
      { text: "after", line: 3, truncated: false },
    ]);
  });
});

describe("LineSplitter", () => {
  it("tags each line with the piece its first character came from (a cast record)", () => {
    const splitter = new LineSplitter<number>();
    const lines = [...splitter.feed('{"type":', 10), ...splitter.feed('"user"}\r\nnext', 11), ...splitter.feed(" line\n", 12), ...splitter.end()];
    expect(lines).toEqual([
      { text: '{"type":"user"}', truncated: false, tag: 10 },
      { text: "next line", truncated: false, tag: 11 },
    ]);
  });
});
