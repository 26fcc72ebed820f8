import type { Rule, Stream, StepMapping, ValueSpec } from "../schema/extractorSpec.js";
import type { Observation, SourceRef, Step, ToolCall } from "../schema/step.js";
import type { WarningLog } from "./io.js";
import type { Unit } from "./specEngineRecords.js";
import { at, booleanValue, evaluate, holds, isAbsent, numberValue, textOf, textValue, timestampValue, type Scope } from "./specEngineValues.js";
import { exitCodeFromText, shellCommandOf } from "./tools.js";

/** A step being assembled; `id` is given once every stream is read. */
export type DraftStep = Omit<Step, "id">;

/**
 * A step under construction. Its sources are kept apart so the order follows the contract: the
 * action record first, then the record of its result, then everything else in arrival order.
 */
interface Draft {
  step: Omit<Step, "id" | "sources">;
  action: SourceRef;
  result?: SourceRef;
  extra: SourceRef[];
  /** Has a tool call and may still receive its observation from a later record. */
  waiting: boolean;
  dedupeKey?: string;
  /** Steps cut from one record's tool-call array ran in parallel. */
  splitGroup?: number;
}

interface HeldPart {
  text: string;
  actor: string;
  source: SourceRef;
  /** Where the part goes: a held `text` becomes the step's text, a held `thought` its thought. */
  as: "text" | "thought";
}

/** What happened to the records of a stream: the validator scores extractions with it. */
export interface AssemblyStats {
  records: number;
  filtered: number;
  unmatched: number;
  skipped: number;
  empty: number;
  duplicates: number;
  /** Observations that answered no waiting action and were dropped by the pairing rule. */
  orphans: number;
}

export function emptyStats(): AssemblyStats {
  return { records: 0, filtered: 0, unmatched: 0, skipped: 0, empty: 0, duplicates: 0, orphans: 0 };
}

function deriveOf(expr: ValueSpec | undefined): string | undefined {
  return expr !== undefined && typeof expr === "object" ? expr.derive : undefined;
}

function withoutUndefined<T extends object>(value: T): T {
  return Object.fromEntries(Object.entries(value).filter(([, field]) => field !== undefined)) as T;
}

function sameSource(a: SourceRef, b: SourceRef): boolean {
  return a.path === b.path && a.line === b.line && a.pointer === b.pointer;
}

function joined(parts: HeldPart[], as: HeldPart["as"]): string | undefined {
  const texts = parts.filter((part) => part.as === as).map((part) => part.text);
  return texts.length > 0 ? texts.join("\n") : undefined;
}

/**
 * Turns the records of one stream into steps by the stream's rules: pairs observations with their
 * actions, merges re-emitted actions, and hands held thoughts to the step they precede.
 */
export class StepAssembler {
  private readonly drafts: Draft[] = [];
  private readonly waiting: Draft[] = [];
  private held: HeldPart[] = [];
  private heldGroup: string | undefined;
  private splitGroups = 0;
  /** The step that most recently received an observation: continuation records belong to it. */
  private lastObserved: Draft | undefined;
  readonly stats: AssemblyStats = emptyStats();

  constructor(
    private readonly stream: Stream,
    private readonly warnings?: WarningLog,
  ) {}

  add(unit: Unit): void {
    this.stats.records += 1;
    const scope: Scope = { record: unit.value, parent: unit.parent, document: unit.document };
    if (this.stream.filter && !holds(this.stream.filter, scope)) {
      this.stats.filtered += 1;
      return;
    }
    const rule = this.stream.rules.find((candidate) => !candidate.when || holds(candidate.when, scope));
    if (!rule) {
      this.stats.unmatched += 1;
      return;
    }
    if (rule.emit === "skip") {
      this.stats.skipped += 1;
      return;
    }
    if (this.stream.thought_group !== undefined) {
      const group = textValue(this.stream.thought_group, scope);
      if (this.held.length > 0 && group !== this.heldGroup) this.flushHeld();
      this.heldGroup = group;
    }
    if (rule.emit === "thought") this.hold(rule, scope, unit.source);
    else if (rule.emit === "observation") this.observe(rule, scope, unit.source);
    else if (rule.emit === "attach") this.attach(rule, scope, unit.source);
    else this.start(rule, scope, unit.source);
  }

  /** Every step in order (with the tool-call split it came from); parts still held become a message step. */
  finish(): Array<{ step: DraftStep; splitGroup?: number }> {
    this.flushHeld();
    return this.drafts.map((draft) => {
      const step: DraftStep = { ...draft.step, sources: [draft.action, ...(draft.result ? [draft.result] : []), ...draft.extra] };
      return draft.splitGroup === undefined ? { step } : { step, splitGroup: draft.splitGroup };
    });
  }

  private hold(rule: Rule, scope: Scope, source: SourceRef): void {
    const text = textValue(rule.map.thought ?? rule.map.text, scope);
    if (!text) {
      this.stats.empty += 1;
      return;
    }
    this.held.push({ text, source, actor: textValue(rule.map.actor, scope) ?? "agent", as: rule.map.thought ? "thought" : "text" });
  }

  /** What is still held (a message that ended without a tool call) becomes one message step. */
  private flushHeld(): void {
    if (this.held.length === 0) return;
    const [first, ...rest] = this.held;
    const step: Draft["step"] = withoutUndefined({ kind: "message" as const, actor: first!.actor, text: joined(this.held, "text"), thought: joined(this.held, "thought") });
    this.drafts.push({ step, action: first!.source, extra: rest.map((part) => part.source), waiting: false });
    this.held = [];
  }

  private observe(rule: Rule, scope: Scope, source: SourceRef): void {
    const mapping = rule.map.observation;
    const observation = mapping ? observationOf(mapping, scope) : undefined;
    if (!observation) {
      this.stats.empty += 1;
      return;
    }
    const toolId = mapping?.tool_id === undefined ? undefined : textValue(mapping.tool_id, scope);
    const target = this.waitingFor(toolId);
    if (target) {
      target.step.observation = observation;
      target.result = source;
      target.waiting = false;
      this.waiting.splice(this.waiting.indexOf(target), 1);
      this.lastObserved = target;
      return;
    }
    if (this.stream.pairing.unmatched === "drop") {
      this.stats.orphans += 1;
      this.warnings?.add(source, `result${toolId ? ` for ${toolId}` : ""} answers no open action`);
      return;
    }
    const step = withoutUndefined({ kind: "other" as const, actor: textValue(rule.map.actor, scope) ?? "tool", observation, timestamp: timestampValue(rule.map.timestamp, scope) });
    this.drafts.push({ step, action: source, extra: [], waiting: false });
  }

  /** A continuation record: its text goes to the latest step's observation (or text), its record to its sources. */
  private attach(rule: Rule, scope: Scope, source: SourceRef): void {
    const text = textValue(rule.map.observation?.text ?? rule.map.text, scope);
    const target = this.lastObserved ?? this.drafts[this.drafts.length - 1];
    if (!text || !target) {
      this.stats.empty += 1;
      return;
    }
    if (target.step.observation) target.step.observation.text = `${target.step.observation.text}\n${text}`;
    else target.step.text = target.step.text ? `${target.step.text}\n${text}` : text;
    target.extra.push(source);
  }

  /** The step an observation answers, by the stream's pairing rule; undefined makes it a step of its own. */
  private waitingFor(toolId: string | undefined): Draft | undefined {
    const { mode, unmatched } = this.stream.pairing;
    if (mode === "same_record" || this.waiting.length === 0) return undefined;
    if (mode === "next" || toolId === undefined) return this.waiting[0];
    // Oldest waiting call with this id: when a log reuses ids, results pair by position among equals.
    const byId = this.waiting.find((draft) => draft.step.tool?.id === toolId);
    return byId ?? (unmatched === "oldest_waiting" ? this.waiting[0] : undefined);
  }

  private start(rule: Rule, scope: Scope, source: SourceRef): void {
    const steps = stepsOf(rule.map, scope, source, rule.keep_empty === true);
    if (steps.length === 0) {
      this.stats.empty += 1;
      return;
    }
    const key = this.dedupeKey(scope);
    const duplicate = key === undefined ? undefined : [...this.waiting].reverse().find((draft) => draft.dedupeKey === key);
    if (duplicate) {
      this.stats.duplicates += 1;
      this.reemit(duplicate, steps[0]!);
      this.attachHeld(duplicate);
      return;
    }
    const splitGroup = steps.length > 1 ? ++this.splitGroups : undefined;
    steps.forEach(({ sources, ...step }, index) => {
      const waiting = step.tool !== undefined && step.observation === undefined && this.stream.pairing.mode !== "same_record";
      const draft: Draft = { step, action: sources[0]!, extra: [], waiting };
      if (index === 0 && key !== undefined) draft.dedupeKey = key;
      if (splitGroup !== undefined) draft.splitGroup = splitGroup;
      if (index === 0) this.attachHeld(draft);
      this.drafts.push(draft);
      if (step.observation) this.lastObserved = draft;
      if (waiting) this.waiting.push(draft);
    });
  }

  /** The same action emitted again: one step. With keep "last" the later emission is the one that ran. */
  private reemit(draft: Draft, again: DraftStep): void {
    if (this.stream.dedupe?.keep !== "last") {
      draft.extra.push(again.sources[0]!);
      return;
    }
    // The later emission is the one that ran: it takes the action source and the step's place in the order.
    draft.extra.unshift(draft.action);
    draft.action = again.sources[0]!;
    this.drafts.splice(this.drafts.indexOf(draft), 1);
    this.drafts.push(draft);
    if (again.tool) draft.step.tool = again.tool;
    if (again.parallel_group !== undefined) draft.step.parallel_group = again.parallel_group;
  }

  private dedupeKey(scope: Scope): string | undefined {
    if (!this.stream.dedupe) return undefined;
    const parts = this.stream.dedupe.key.map((expr) => evaluate(expr, scope));
    if (parts.every(isAbsent)) return undefined;
    return JSON.stringify(parts);
  }

  /** Held parts go to this step if the policy allows (never overwriting its own); otherwise they stand as a message step first. */
  private attachHeld(draft: Draft): void {
    if (this.held.length === 0) return;
    if ((this.stream.thought_attach ?? "next_tool_step") === "next_tool_step" && !draft.step.tool) {
      this.flushHeld();
      return;
    }
    draft.step.text ??= joined(this.held, "text");
    draft.step.thought ??= joined(this.held, "thought");
    if (draft.step.text === undefined) delete draft.step.text;
    if (draft.step.thought === undefined) delete draft.step.thought;
    for (const part of this.held) if (!sameSource(part.source, draft.action)) draft.extra.push(part.source);
    this.held = [];
  }
}

/** The steps one record yields: one, or one per element of the tool-call array (`tool.each`). */
function stepsOf(mapping: StepMapping, scope: Scope, source: SourceRef, keepEmpty: boolean): DraftStep[] {
  const base = baseStep(mapping, scope, source);
  const meaningful = (step: DraftStep) => keepEmpty || hasContent(step);
  if (!mapping.tool) return meaningful(base) ? [base] : [];
  if (mapping.tool.each === undefined) {
    const tool = toolOf(mapping.tool, scope);
    const result = tool ? callResult(mapping.tool, scope) : undefined;
    const step = tool ? { ...base, kind: "other" as const, tool, ...(result && !base.observation ? { observation: result } : {}) } : base;
    return meaningful(step) ? [step] : [];
  }
  const calls = at(scope.record, mapping.tool.each);
  const elements = Array.isArray(calls) ? calls : [];
  const scopes: Scope[] = elements.map((element) => ({ record: element, parent: scope.record, document: scope.document }));
  const tools = scopes.map((elementScope) => toolOf(mapping.tool!, elementScope));
  if (tools.every((tool) => tool === undefined)) return meaningful(base) ? [base] : [];
  // The first call carries the record's text and thought and the record as its source; the
  // others are located by their element's pointer, so no record is claimed twice.
  const steps: DraftStep[] = [];
  tools.forEach((tool, index) => {
    if (!tool) return;
    const result = callResult(mapping.tool!, scopes[index]!);
    if (steps.length === 0) steps.push(withoutUndefined({ ...base, kind: "other" as const, tool, observation: base.observation ?? result }));
    else steps.push(withoutUndefined({ kind: "other" as const, actor: base.actor, tool, observation: result, timestamp: base.timestamp, sources: [{ ...source, pointer: `${source.pointer ?? ""}${mapping.tool!.each}/${index}` }] }));
  });
  return steps;
}

function hasContent(step: DraftStep): boolean {
  return Boolean(step.text || step.thought || step.tool || step.observation);
}

function baseStep(mapping: StepMapping, scope: Scope, source: SourceRef): DraftStep {
  const tokens = mapping.tokens
    ? withoutUndefined({ prompt: numberValue(mapping.tokens.prompt, scope), completion: numberValue(mapping.tokens.completion, scope), cached: numberValue(mapping.tokens.cached, scope) })
    : undefined;
  const group = mapping.parallel_group === undefined ? undefined : evaluate(mapping.parallel_group, scope);
  return withoutUndefined({
    kind: "message" as const,
    actor: textValue(mapping.actor, scope) ?? "agent",
    text: textValue(mapping.text, scope),
    thought: textValue(mapping.thought, scope),
    observation: mapping.observation ? observationOf(mapping.observation, scope) : undefined,
    timestamp: timestampValue(mapping.timestamp, scope),
    tokens: tokens && Object.values(tokens).some((count) => count) ? tokens : undefined,
    parallel_group: typeof group === "string" || typeof group === "number" ? group : undefined,
    sources: [source],
  });
}

function toolOf(mapping: NonNullable<StepMapping["tool"]>, scope: Scope): ToolCall | undefined {
  // A call whose name is empty is still a call (a malformed one, which diagnosis cares about).
  const rawName = evaluate(mapping.name, scope);
  if (rawName === undefined || rawName === null) return undefined;
  const name = textOf(rawName);
  const args = mapping.args === undefined ? undefined : evaluate(mapping.args, scope);
  const command = deriveOf(mapping.command) === "shell_command" ? shellCommandOf(name, args) : textValue(mapping.command, scope);
  return withoutUndefined({ name, id: textValue(mapping.id, scope), args: isAbsent(args) ? undefined : args, command });
}

/** The result a call element carries itself (`tool.result`), read in the element's scope. */
function callResult(mapping: NonNullable<StepMapping["tool"]>, scope: Scope): Observation | undefined {
  return mapping.result ? observationOf(mapping.result, scope) : undefined;
}

function observationOf(mapping: NonNullable<StepMapping["observation"]>, scope: Scope): Observation | undefined {
  const raw = evaluate(mapping.text, scope);
  if (raw === undefined || raw === null) return undefined;
  const text = textOf(raw);
  const exitCode = deriveOf(mapping.exit_code) === "exit_code_from_text" ? exitCodeFromText(text) : numberValue(mapping.exit_code, scope);
  return withoutUndefined({
    text,
    exit_code: exitCode !== undefined && Number.isInteger(exitCode) ? exitCode : undefined,
    is_error: booleanValue(mapping.is_error, scope),
  });
}
