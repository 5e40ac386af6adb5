// Vite builds the meeting app from web/ into web/dist (embedded by the Go
// binary); Vitest runs the unit tests next to the code.
import { defineConfig } from "vitest/config";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL(".", import.meta.url));

export default defineConfig({
  root,
  base: "/",
  build: {
    outDir: "dist",
    emptyOutDir: true,
    target: "es2022",
    sourcemap: false,
  },
  test: {
    root,
    environment: "node",
    include: ["src/**/*.test.ts"],
  },
});
