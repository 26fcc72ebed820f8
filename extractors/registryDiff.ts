/**
 * A line diff (longest common subsequence) of two spec versions as pretty JSON: small specs, so the
 * quadratic table is fine, and it needs no dependency.
 */
export interface DiffLine {
  /** " " unchanged, "-" only in the first, "+" only in the second. */
  op: " " | "-" | "+";
  text: string;
}

/** Lines shown around each change; the rest of the unchanged lines are folded. */
const CONTEXT = 2;
const MAX_LINES = 4000;

export function lineDiff(before: string, after: string): DiffLine[] {
  const a = before.split("\n").slice(0, MAX_LINES);
  const b = after.split("\n").slice(0, MAX_LINES);
  const table: number[][] = Array.from({ length: a.length + 1 }, () => new Array<number>(b.length + 1).fill(0));
  for (let i = a.length - 1; i >= 0; i -= 1) for (let j = b.length - 1; j >= 0; j -= 1) table[i]![j] = a[i] === b[j] ? table[i + 1]![j + 1]! + 1 : Math.max(table[i + 1]![j]!, table[i]![j + 1]!);
  const lines: DiffLine[] = [];
  let i = 0;
  let j = 0;
  while (i < a.length || j < b.length) {
    if (i < a.length && j < b.length && a[i] === b[j]) {
      lines.push({ op: " ", text: a[i]! });
      i += 1;
      j += 1;
    } else if (i < a.length && (j === b.length || table[i + 1]![j]! >= table[i]![j + 1]!)) lines.push({ op: "-", text: a[i++]! });
    else lines.push({ op: "+", text: b[j++]! });
  }
  return fold(lines);
}

/** Keep changed lines and a little context around them. */
function fold(lines: DiffLine[]): DiffLine[] {
  const near = lines.map((_, index) => lines.slice(Math.max(0, index - CONTEXT), index + CONTEXT + 1).some((line) => line.op !== " "));
  const kept: DiffLine[] = [];
  lines.forEach((line, index) => {
    if (near[index]) kept.push(line);
    else if (kept.length > 0 && kept[kept.length - 1]!.text !== "…") kept.push({ op: " ", text: "…" });
  });
  return kept;
}
