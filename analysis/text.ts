import type { Step } from "../schema/step.js";

/** The call a step made, as one line of text (its shell command, or its tool arguments). */
export function callText(step: Step): string {
  if (!step.tool) return step.text ?? "";
  return step.tool.command ?? JSON.stringify(step.tool.args ?? {});
}

export function firstLine(text: string, max = 120): string {
  const line = text.trim().split("\n").find((candidate) => candidate.trim() !== "") ?? "";
  return line.length > max ? `${line.slice(0, max)}…` : line;
}

/** Untrusted text shortened to one line in backquotes, for evidence sentences. */
export function quote(text: string, max = 80): string {
  const flat = text.replace(/\s+/g, " ").trim();
  return `\`${flat.length > max ? `${flat.slice(0, max)}…` : flat}\``;
}
