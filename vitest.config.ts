import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["tests/**/*.test.ts"],
    // Tests read real runs from ../shared/corpus; some analyse dozens of them.
    testTimeout: 120_000,
    hookTimeout: 120_000,
    pool: "forks",
    // Offline by default, whatever the developer's shell holds: tests that exercise LLM mode set these
    // themselves, pointing at a local scripted server.
    env: { OPENAI_API_KEY: "", OPENAI_BASE_URL: "", CODETRACER_MODEL: "", CODETRACER_EMBEDDING_MODEL: "" },
    reporters: ["default", "json"],
    outputFile: { json: ".vitest-results.json" },
  },
});
