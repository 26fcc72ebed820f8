/**
 * A child process for the memory robustness tests: adds real task texts to a memory one document at
 * a time and prints the id of each document once `add` has returned (so the parent knows what was
 * acknowledged). Usage: tsx tests/memory-writer.ts <home> <id-prefix> <count>
 */
import { VectorMemory } from "../memory/vectorStore.js";
import { corpusTasks } from "./memory-fixtures.js";

const [home, prefix, count] = process.argv.slice(2);
const tasks = corpusTasks();
const memory = await VectorMemory.open(home!);
for (let index = 0; index < Number(count); index += 1) {
  const task = tasks[index % tasks.length]!;
  const id = `${prefix}-${index}`;
  await memory.add("failures", [{ id, text: task.text, metadata: { task: task.id, writer: prefix, index } }]);
  process.stdout.write(`${id}\n`);
}
memory.close();
