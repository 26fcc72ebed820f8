import { mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { openJsonDocument, pointerOf, pointerSegments, streamJsonArray, streamJsonValue } from "../extractors/jsonStream.js";
import { RunError } from "../schema/errors.js";
import { FORMATS } from "./corpus.js";

const OPENHANDS_ARRAY = path.join(FORMATS, "openhands/runtime_traj_basic_gui_mode/tests/runtime/trajs/basic_gui_mode.json");

async function collect<T>(items: AsyncIterable<T>): Promise<T[]> {
  const all: T[] = [];
  for await (const item of items) all.push(item);
  return all;
}

async function tempFile(name: string, text: string): Promise<string> {
  const file = path.join(await mkdtemp(path.join(tmpdir(), "ct-json-")), name);
  await writeFile(file, text);
  return file;
}

describe("streaming JSON arrays (stream-json)", () => {
  it("yields every element of a real OpenHands event array with its index, as JSON.parse would", async () => {
    const { readFile } = await import("node:fs/promises");
    const whole = JSON.parse(await readFile(OPENHANDS_ARRAY, "utf8")) as unknown[];
    const streamed = await collect(streamJsonArray(OPENHANDS_ARRAY));
    expect(streamed.map((item) => item.index)).toEqual(whole.map((_, index) => index));
    expect(streamed.map((item) => item.value)).toEqual(whole);
  });

  it("addresses a nested array and a single value by JSON pointer", async () => {
    const file = await tempFile("doc.json", JSON.stringify({ info: { exit_status: "submitted" }, history: [{ a: 1 }, "two", [3]], "a/b": [true] }));
    expect(await collect(streamJsonArray(file, "/history"))).toEqual([
      { index: 0, value: { a: 1 } },
      { index: 1, value: "two" },
      { index: 2, value: [3] },
    ]);
    expect(await collect(streamJsonArray(file, "/a~1b"))).toEqual([{ index: 0, value: true }]);
    expect(await streamJsonValue(file, "/info")).toEqual({ exit_status: "submitted" });
    expect(await streamJsonValue(file, "/missing")).toBeUndefined();
    expect(await collect(streamJsonArray(file, "/missing"))).toEqual([]);
  });

  it("turns a truncated document into a one-line RunError", async () => {
    const file = await tempFile("cut.json", '[{"id": 1}, {"id": 2, "action": "ru');
    const read = collect(streamJsonArray(file, "", "cut.json"));
    await expect(read).rejects.toBeInstanceOf(RunError);
    await expect(collect(streamJsonArray(file, "", "cut.json"))).rejects.toThrow(/^cut\.json is not valid JSON/);
  });

  it("answers the same questions whether a document is parsed whole or streamed", async () => {
    const dir = path.dirname(OPENHANDS_ARRAY);
    const run = { root: dir, input: OPENHANDS_ARRAY, isFile: true, files: [path.basename(OPENHANDS_ARRAY)] };
    const whole = await openJsonDocument(run, path.basename(OPENHANDS_ARRAY));
    const streamed = await openJsonDocument(run, path.basename(OPENHANDS_ARRAY), 1);
    expect(whole.streamed).toBe(false);
    expect(streamed.streamed).toBe(true);
    expect(await collect(streamed.array(""))).toEqual(await collect(whole.array("")));
    expect(await streamed.value("/7/args")).toEqual(await whole.value("/7/args"));
  });

  it("escapes and unescapes pointer segments per RFC 6901", () => {
    expect(pointerOf("history", 3, "a/b~c")).toBe("/history/3/a~1b~0c");
    expect(pointerSegments("/history/3/a~1b~0c")).toEqual(["history", "3", "a/b~c"]);
    expect(pointerSegments("")).toEqual([]);
  });
});
