import { defineConfig } from "vitest/config";
import { vitestSetupFilePath, getClarinetVitestsArgv } from "@stacks/clarinet-sdk/vitest";

// vitest-environment-clarinet initialises the simnet from ./Clarinet.toml and exposes `simnet`
// globally; the setup file re-initialises the session before each test (fresh chain state).
export default defineConfig({
  test: {
    environment: "clarinet",
    pool: "forks",
    poolOptions: { forks: { singleFork: true } },
    setupFiles: [vitestSetupFilePath],
    include: ["tests/**/*.test.{js,mjs,ts}"],
    testTimeout: 120_000,
    hookTimeout: 120_000,
    environmentOptions: {
      clarinet: {
        ...getClarinetVitestsArgv(),
      },
    },
  },
});
