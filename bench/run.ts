// `npm run bench`: measured figures, each next to its baseline from the same run; medians of repeated runs.
// Writes bench/results.json and bench/results.md. Not a test: nothing here passes or fails on a number.
import { execFileSync, spawnSync } from "node:child_process";
import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const bun = join(root, "node_modules", ".bin", "bun");
const work = join(root, "bench", "work");
const RUNS = { startup: 40, rss: 15, archive: 5 };

interface Row {
  group: string;
  name: string;
  command: string;
  medianMs: number;
  peakRssMiB?: number;
  runs: number;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/** hyperfine (no shell, warm-up runs) for the wall-time median; GNU time for the peak RSS median. */
function measure(group: string, name: string, argv: string[], runs: number, options: { shell?: boolean; prepare?: string } = {}): Row {
  const exported = join(work, "hyperfine.json");
  const command = options.shell ? argv.join(" ") : argv.map((a) => (/[\s"']/.test(a) ? `'${a}'` : a)).join(" ");
  execFileSync("hyperfine", [...(options.shell ? [] : ["-N"]), "--warmup", String(Math.min(5, runs)), "--runs", String(runs), ...(options.prepare ? ["--prepare", options.prepare] : []), "--export-json", exported, command], { stdio: ["ignore", "ignore", "inherit"] });
  const times = (JSON.parse(readFileSync(exported, "utf8")).results[0].times as number[]).map((s) => s * 1000);
  const rss: number[] = [];
  for (let i = 0; i < Math.min(runs, RUNS.rss); i++) {
    const timed = spawnSync("/usr/bin/time", ["-f", "%M", ...(options.shell ? ["sh", "-c", command] : argv)], { encoding: "utf8" });
    rss.push(Number(timed.stderr.trim().split("\n").at(-1)) / 1024);
  }
  return { group, name, command, medianMs: round(median(times)), peakRssMiB: round(median(rss)), runs };
}

function round(value: number): number {
  return Math.round(value * 100) / 100;
}

rmSync(work, { recursive: true, force: true });
mkdirSync(work, { recursive: true });

console.error("bench: building the host vox (release v0.1.0) and a hello-world with the same Bun");
execFileSync(bun, ["main.ts", "ci", "release-build", "--version", "v0.1.0", "--package", "vox", "--no-smoke", "--out-dir", join(work, "dist")], { cwd: root, stdio: ["ignore", "ignore", "inherit"], env: { ...process.env, SOURCE_DATE_EPOCH: "1700000000" } });
const archive = execFileSync("sh", ["-c", `ls ${join(work, "dist")}/vox-v0.1.0-*.tar.gz`], { encoding: "utf8" }).trim();
execFileSync("tar", ["-xzf", archive, "-C", work]);
const vox = join(work, "vox");
writeFileSync(join(work, "hello.ts"), 'console.log("hello");\n');
execFileSync(bun, ["build", "--compile", "--minify", "--outfile", join(work, "hello"), join(work, "hello.ts")], { stdio: "ignore" });
const bunVersion = execFileSync(bun, ["--version"], { encoding: "utf8" }).trim();

const rows: Row[] = [
  measure("startup", "hello-world compiled by the same Bun (floor)", [join(work, "hello")], RUNS.startup),
  measure("startup", "vox --version", [vox, "--version"], RUNS.startup),
  measure("startup", "vox policy --json", [vox, "policy", "--json"], RUNS.startup),
  measure("startup", "node -e 0", [process.execPath, "-e", "0"], RUNS.startup),
  measure("startup", "gh --version (Go)", ["gh", "--version"], RUNS.startup),
  measure("archive", "vox release archive (tar + fflate gzip + sha256, Bun)", [bun, join(root, "bench", "archive_one.ts"), vox, join(work, "ours.tar.gz")], RUNS.archive),
  measure("archive", "tar -czf + sha256sum (GNU, gzip -6)", [`cd ${work} && tar -czf theirs.tar.gz vox && sha256sum theirs.tar.gz`], RUNS.archive, { shell: true }),
];

const floor = rows[0]!.medianMs;
const versionRatio = round(rows[1]!.medianMs / floor);
const results = {
  date: new Date().toISOString(),
  machine: { cpus: execFileSync("nproc", { encoding: "utf8" }).trim(), bun: bunVersion, node: process.version },
  rows,
  derived: { voxVersionOverFloor: versionRatio, policyJsonMs: rows[2]!.medianMs, archiveOverBaseline: round(rows[5]!.medianMs / rows[6]!.medianMs) },
};
writeFileSync(join(root, "bench", "results.json"), `${JSON.stringify(results, null, 2)}\n`);

const table = [
  "| group | what | median wall (ms) | median peak RSS (MiB) | runs |",
  "|---|---|---:|---:|---:|",
  ...rows.map((r) => `| ${r.group} | ${r.name} | ${r.medianMs} | ${r.peakRssMiB ?? ""} | ${r.runs} |`),
  "",
  `vox --version / floor = ${versionRatio}x; vox policy --json = ${rows[2]!.medianMs} ms; our archive / tar+sha256sum = ${results.derived.archiveOverBaseline}x (Bun ${bunVersion}, ${results.machine.cpus} cores)`,
].join("\n");
writeFileSync(join(root, "bench", "results.md"), `${table}\n`);
console.log(table);
rmSync(work, { recursive: true, force: true });
