import type { BaseChatModel } from "@langchain/core/language_models/chat_models";
import { AIMessage, HumanMessage, SystemMessage, ToolMessage, type BaseMessage } from "@langchain/core/messages";
import { tool, type StructuredToolInterface } from "@langchain/core/tools";
import type { z } from "zod";
import { errorMessage } from "../schema/errors.js";

/** What the LLM calls of one agent run cost, in the units `diagnosis.json` reports. */
export interface LlmCost {
  llm_calls: number;
  prompt_tokens: number;
  completion_tokens: number;
}

export const NO_COST: LlmCost = { llm_calls: 0, prompt_tokens: 0, completion_tokens: 0 };

export function addCost(a: LlmCost, b: LlmCost): LlmCost {
  return { llm_calls: a.llm_calls + b.llm_calls, prompt_tokens: a.prompt_tokens + b.prompt_tokens, completion_tokens: a.completion_tokens + b.completion_tokens };
}

/** How far one agent may go: rounds of reading tools, then attempts to fix a rejected answer. */
export interface AgentLimits {
  maxToolRounds: number;
  maxRepairs: number;
  /** Tool calls honoured per model turn; a model asking for more gets told so. */
  maxCallsPerTurn: number;
}

export const DEFAULT_LIMITS: AgentLimits = { maxToolRounds: 6, maxRepairs: 2, maxCallsPerTurn: 6 };

/** The one tool through which an agent answers; its arguments are the answer, parsed by `schema`. */
export interface SubmitTool<T> {
  name: string;
  description: string;
  schema: z.ZodType<T>;
  /** Problems that make a schema-valid answer unusable (e.g. step ids that do not exist); empty = accept. */
  problems(answer: T): string[];
}

export interface AgentRun<T> {
  model: BaseChatModel;
  /** Read-only tools only: the loop executes nothing else. */
  tools: StructuredToolInterface[];
  submit: SubmitTool<T>;
  system: string;
  user: string;
  limits: AgentLimits;
}

/** One tool call the model made, kept for the report and for tests. */
export interface ToolUse {
  name: string;
  args: unknown;
}

export type AgentResult<T> =
  | { status: "submitted"; answer: T; cost: LlmCost; toolUses: ToolUse[] }
  /** No acceptable answer within the limits; `lastAnswer` is the last schema-valid one, if any. */
  | { status: "gave_up"; reason: string; lastAnswer?: T; lastProblems?: string[]; cost: LlmCost; toolUses: ToolUse[] };

/**
 * A bounded tool-calling loop: the model reads the trace through `tools` for at most
 * `maxToolRounds` turns, is then made to call `submit`, and may fix a rejected answer `maxRepairs`
 * times. Every way out returns a result with the cost so far; model and network errors included.
 */
export async function runAgent<T>(run: AgentRun<T>): Promise<AgentResult<T>> {
  const state = new AgentState<T>(run);
  try {
    return await state.loop();
  } catch (err) {
    return state.gaveUp(`the model call failed: ${errorMessage(err)}`);
  }
}

class AgentState<T> {
  private readonly messages: BaseMessage[];
  private readonly toolsByName: Map<string, StructuredToolInterface>;
  private readonly submitTool: StructuredToolInterface;
  private cost: LlmCost = { ...NO_COST };
  private readonly toolUses: ToolUse[] = [];
  private toolRounds = 0;
  private repairs = 0;
  private lastAnswer: T | undefined;
  private lastProblems: string[] | undefined;

  constructor(private readonly run: AgentRun<T>) {
    this.messages = [new SystemMessage(run.system), new HumanMessage(run.user)];
    this.toolsByName = new Map(run.tools.map((candidate) => [candidate.name, candidate]));
    this.submitTool = submitDefinition(run.submit);
  }

  /** Each turn either ends the run or spends a tool round or a repair, so the loop always ends. */
  async loop(): Promise<AgentResult<T>> {
    const { maxToolRounds, maxRepairs } = this.run.limits;
    while (this.toolRounds <= maxToolRounds && this.repairs <= maxRepairs) {
      const reply = await this.ask(this.toolRounds >= maxToolRounds);
      const result = await this.handle(reply);
      if (result) return result;
    }
    return this.gaveUp(this.repairs > maxRepairs ? `no valid answer after ${maxRepairs} repairs` : `no answer after ${maxToolRounds} tool rounds`);
  }

  gaveUp(reason: string): AgentResult<T> {
    return {
      status: "gave_up",
      reason,
      ...(this.lastAnswer !== undefined ? { lastAnswer: this.lastAnswer } : {}),
      ...(this.lastProblems ? { lastProblems: this.lastProblems } : {}),
      cost: this.cost,
      toolUses: this.toolUses,
    };
  }

  /** Once the reading budget is spent, only the submit tool is offered, and its call is required. */
  private async ask(mustAnswer: boolean): Promise<AIMessage> {
    const bindTools = this.run.model.bindTools?.bind(this.run.model);
    if (!bindTools) throw new Error("the chat model cannot call tools");
    const model = mustAnswer
      ? bindTools([this.submitTool], { tool_choice: this.run.submit.name })
      : bindTools([...this.run.tools, this.submitTool]);
    const reply = (await model.invoke(this.messages)) as AIMessage;
    this.messages.push(reply);
    this.count(reply);
    return reply;
  }

  private count(reply: AIMessage): void {
    const usage = reply.usage_metadata;
    this.cost = addCost(this.cost, { llm_calls: 1, prompt_tokens: usage?.input_tokens ?? 0, completion_tokens: usage?.output_tokens ?? 0 });
  }

  /** Answer every tool call of the turn (the API requires it); return a result once an answer is accepted. */
  private async handle(reply: AIMessage): Promise<AgentResult<T> | undefined> {
    const calls = reply.tool_calls ?? [];
    const broken = reply.invalid_tool_calls ?? [];
    if (calls.length === 0 && broken.length === 0) {
      this.toolRounds += 1;
      this.messages.push(new HumanMessage(`Answer by calling ${this.run.submit.name}; a reply in plain text is not read.`));
      return undefined;
    }
    let submitted = false;
    for (const [index, call] of calls.entries()) {
      const id = call.id ?? `call_${index}`;
      this.toolUses.push({ name: call.name, args: call.args });
      if (call.name === this.run.submit.name) {
        submitted = true;
        const answer = this.judge(call.args);
        if (answer.ok) return { status: "submitted", answer: answer.value, cost: this.cost, toolUses: this.toolUses };
        this.messages.push(new ToolMessage({ tool_call_id: id, content: answer.feedback }));
      } else if (index >= this.run.limits.maxCallsPerTurn) {
        this.messages.push(new ToolMessage({ tool_call_id: id, content: `Not run: at most ${this.run.limits.maxCallsPerTurn} tool calls per turn.` }));
      } else {
        this.messages.push(new ToolMessage({ tool_call_id: id, content: await this.readTool(call.name, call.args) }));
      }
    }
    for (const [index, call] of broken.entries()) {
      submitted ||= call.name === this.run.submit.name;
      this.messages.push(new ToolMessage({ tool_call_id: call.id ?? `invalid_${index}`, content: `Your call to ${call.name ?? "a tool"} had arguments that are not valid JSON: ${call.error ?? "unparseable"}. Call it again.` }));
    }
    if (submitted) this.repairs += 1;
    else this.toolRounds += 1;
    return undefined;
  }

  /** Run a read-only tool; anything else the model names does not exist, so nothing can be acted on. */
  private async readTool(name: string, args: unknown): Promise<string> {
    const readOnly = this.toolsByName.get(name);
    if (!readOnly) return `There is no tool named ${JSON.stringify(name)}. The only tools are: ${[...this.toolsByName.keys(), this.run.submit.name].join(", ")}. They read the trace; nothing can run commands or change files.`;
    try {
      return String(await readOnly.invoke(args as Record<string, unknown>));
    } catch (err) {
      return `The ${name} call failed: ${errorMessage(err)}. Check the arguments.`;
    }
  }

  private judge(args: unknown): { ok: true; value: T } | { ok: false; feedback: string } {
    const parsed = this.run.submit.schema.safeParse(args);
    if (!parsed.success) {
      const issues = parsed.error.issues.map((issue) => `${issue.path.join(".") || "(answer)"}: ${issue.message}`);
      this.lastProblems = issues;
      return { ok: false, feedback: `Rejected, the answer does not match the schema:\n- ${issues.join("\n- ")}\nCall ${this.run.submit.name} again with a corrected answer.` };
    }
    this.lastAnswer = parsed.data;
    const problems = this.run.submit.problems(parsed.data);
    if (problems.length === 0) return { ok: true, value: parsed.data };
    this.lastProblems = problems;
    return { ok: false, feedback: `Rejected:\n- ${problems.join("\n- ")}\nCall ${this.run.submit.name} again with a corrected answer.` };
  }
}

/** The submit tool is a definition for the model only: the loop reads its arguments and never runs it. */
function submitDefinition<T>(submit: SubmitTool<T>): StructuredToolInterface {
  return tool(
    async () => {
      throw new Error(`${submit.name} is answered by the agent loop, not run`);
    },
    { name: submit.name, description: submit.description, schema: submit.schema as z.ZodObject },
  ) as StructuredToolInterface;
}
