import { writeFileSync } from "node:fs";
import { resolve } from "node:path";
import { defineConfig } from "vitest/config";

// base './' makes every asset URL relative, so the same build works at '/',
// under the cloud's /s/{session}/ and inside the desktop webview.
export default defineConfig({
  base: "./",
  build: {
    outDir: "dist",
    emptyOutDir: true,
    target: "es2022",
    chunkSizeWarningLimit: 800,
  },
  plugins: [
    {
      // The Go embed (frontend/embed.go) needs dist/ to exist with at least
      // one file even before a build, so the placeholder survives cleaning.
      name: "keep-gitkeep",
      closeBundle() {
        writeFileSync(resolve(__dirname, "dist/.gitkeep"), "");
      },
    },
  ],
  test: {
    include: ["test/**/*.test.ts"],
    environment: "node",
  },
});
