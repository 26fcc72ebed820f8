/**
 * Trajectory text is untrusted: an agent's log can contain anything, including text written to steer
 * whoever reads it ("ignore previous instructions…"). Everything the LLM agents see that came from a
 * run is wrapped in these delimiters, and the system prompts say text inside them is data, never
 * instructions.
 */
export const DATA_OPEN = "<trace_data>";
export const DATA_CLOSE = "</trace_data>";

/** A forged delimiter inside the data could "close" the block early; this defangs every spelling of it. */
const FORGED_DELIMITER = /<(\s*\/?\s*)trace_data/gi;

/** Wrap untrusted text so it can only ever be read as data. */
export function untrusted(text: string): string {
  return `${DATA_OPEN}\n${text.replace(FORGED_DELIMITER, "‹$1trace_data")}\n${DATA_CLOSE}`;
}

/** Keep the head and the tail (errors are often at the end of an output) within `budget` characters. */
export function truncate(text: string, budget: number): string {
  if (text.length <= budget) return text;
  const marker = (omitted: number) => `\n… [${omitted} characters omitted] …\n`;
  const room = Math.max(0, budget - marker(text.length).length);
  const head = Math.ceil(room * 0.6);
  const tail = room - head;
  return `${text.slice(0, head)}${marker(text.length - room)}${tail > 0 ? text.slice(-tail) : ""}`;
}

/** One line, whitespace folded, at most `max` characters: for listings where each step gets one line. */
export function oneLine(text: string, max: number): string {
  const flat = text.replace(/\s+/g, " ").trim();
  return flat.length > max ? `${flat.slice(0, max - 1)}…` : flat;
}
