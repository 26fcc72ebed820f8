import { createReadStream } from "node:fs";
import { StringDecoder } from "node:string_decoder";

/**
 * Streaming line readers for line-oriented logs (JSONL, asciinema casts, text logs). A log is never
 * read whole: memory is bounded by the longest line kept, and lines past `maxLineChars` are reported
 * (`truncated`) instead of held, so one runaway line cannot sink a run.
 */

/** Lines longer than this are reported as truncated and their content dropped. */
export const MAX_LINE_CHARS = 64 * 1024 * 1024;

export interface TextLine {
  /** The line without its `\n` (and without a `\r` before it). Empty when `truncated`. */
  text: string;
  /** 1-based line number, counting `\n` only, as editors, `sed -n Np` and `wc -l` do. */
  line: number;
  /** The line was longer than the limit; its text was dropped. */
  truncated: boolean;
}

export interface LineOptions {
  maxLineChars?: number;
}

/**
 * Splits text fed in arbitrary pieces into lines. Each line carries the tag of the piece its first
 * character came from (for a cast, the record where a terminal line starts).
 */
export class LineSplitter<Tag = undefined> {
  private parts: string[] = [];
  private length = 0;
  private overflow = false;
  private startTag: Tag | undefined;
  private started = false;

  constructor(private readonly maxLineChars = MAX_LINE_CHARS) {}

  /** Feed the next piece; yields every line it completes. */
  *feed(text: string, tag?: Tag): Generator<{ text: string; truncated: boolean; tag: Tag | undefined }> {
    let start = 0;
    for (let newline = text.indexOf("\n"); newline !== -1; newline = text.indexOf("\n", start)) {
      this.append(text.slice(start, newline), tag);
      yield this.take(tag);
      start = newline + 1;
    }
    this.append(text.slice(start), tag);
  }

  /** The last line, when the text did not end with a newline. */
  *end(): Generator<{ text: string; truncated: boolean; tag: Tag | undefined }> {
    if (this.started || this.overflow) yield this.take(undefined);
  }

  private append(piece: string, tag: Tag | undefined): void {
    if (piece === "") return;
    if (!this.started) {
      this.started = true;
      this.startTag = tag;
    }
    if (this.overflow) return;
    if (this.length + piece.length > this.maxLineChars) {
      // Drop what we hold: keeping a partial runaway line would defeat the memory bound.
      this.overflow = true;
      this.parts = [];
      this.length = 0;
      return;
    }
    this.parts.push(piece);
    this.length += piece.length;
  }

  private take(fallbackTag: Tag | undefined): { text: string; truncated: boolean; tag: Tag | undefined } {
    let text = this.parts.length === 1 ? this.parts[0]! : this.parts.join("");
    if (text.endsWith("\r")) text = text.slice(0, -1);
    const line = { text: this.overflow ? "" : text, truncated: this.overflow, tag: this.started ? this.startTag : fallbackTag };
    this.parts = [];
    this.length = 0;
    this.overflow = false;
    this.started = false;
    this.startTag = undefined;
    return line;
  }
}

/** The lines of a UTF-8 file, read incrementally (a UTF-8 BOM on line 1 is dropped). */
export async function* readLines(file: string, options: LineOptions = {}): AsyncGenerator<TextLine> {
  const splitter = new LineSplitter(options.maxLineChars);
  const decoder = new StringDecoder("utf8");
  let line = 0;
  const number = (text: string, truncated: boolean): TextLine => {
    line += 1;
    return { text: line === 1 && text.startsWith("\uFEFF") ? text.slice(1) : text, line, truncated };
  };
  for await (const chunk of createReadStream(file, { highWaterMark: 1024 * 1024 })) {
    for (const piece of splitter.feed(decoder.write(chunk as Buffer))) yield number(piece.text, piece.truncated);
  }
  for (const piece of splitter.feed(decoder.end())) yield number(piece.text, piece.truncated);
  for (const piece of splitter.end()) yield number(piece.text, piece.truncated);
}
