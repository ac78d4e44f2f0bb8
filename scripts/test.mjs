// `npm test`: every unit test (`*_test.ts` beside the code) and end-to-end test (`tests/*.test.ts`) under
// Node's test runner with tsx, ending with the line `N passed, N failed`.
import { spawnSync } from "node:child_process";
import { readdirSync } from "node:fs";
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const SKIP_DIRS = new Set(["node_modules", ".git", "dist", "bench"]);

function findTests(dir) {
  const found = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (entry.isDirectory()) {
      if (!SKIP_DIRS.has(entry.name)) found.push(...findTests(join(dir, entry.name)));
    } else if (entry.name.endsWith("_test.ts") || (entry.name.endsWith(".test.ts") && relative(root, dir) === "tests")) {
      found.push(relative(root, join(dir, entry.name)));
    }
  }
  return found.sort();
}

const filter = process.argv.slice(2);
const files = findTests(root).filter((f) => filter.length === 0 || filter.some((part) => f.includes(part)));
const result = spawnSync(
  process.execPath,
  ["--import", "tsx", "--test", "--test-reporter=spec", "--test-reporter-destination=stdout", "--test-reporter=./scripts/summary_reporter.mjs", "--test-reporter-destination=stdout", ...files],
  { cwd: root, stdio: "inherit" },
);
process.exit(result.status ?? 1);
