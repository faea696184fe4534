// Builds the console into shared/pipelines/console/static (committed; tests/console/test_bundle.py
// rebuilds into a temporary folder and fails if the committed files differ).
// Usage: node console/build.mjs [outdir]
import { build } from "esbuild";
import { copyFileSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const out = resolve(process.argv[2] ?? join(here, "..", "shared", "pipelines", "console", "static"));
// Chunk names carry their content's hash: start from an empty folder so no stale chunk stays.
rmSync(join(out, "_console"), { recursive: true, force: true });
mkdirSync(join(out, "_console"), { recursive: true });
const result = await build({
  // the graph layout runs in a worker (src/layout.ts): its own entry, sharing dagre's chunk
  entryPoints: { app: join(here, "src", "main.ts"), "layout-worker": join(here, "src", "layout-worker.ts") },
  bundle: true,
  // Modules imported with import() get their own files (the cloud sign-in's AWS libraries load
  // only where config.auth is set); names stay flat in _console/ and change with the content.
  splitting: true,
  chunkNames: "[name]-[hash]",
  metafile: true,
  format: "esm",
  target: "es2022",
  minify: true,
  legalComments: "none", // the licences go into THIRD-PARTY-LICENSES.txt below
  sourcemap: false,
  charset: "utf8",
  outdir: join(out, "_console"),
  logLevel: "warning",
});
copyFileSync(join(here, "src", "app.css"), join(out, "_console", "app.css"));
copyFileSync(join(here, "public", "favicon.svg"), join(out, "_console", "favicon.svg"));
copyFileSync(join(here, "public", "index.html"), join(out, "index.html"));

// The licences of every npm package bundled into the console (as esbuild reports its inputs),
// served beside it.
const packageDirs = new Map(); // "name@version" -> its folder (the innermost node_modules entry)
for (const input of Object.keys(result.metafile.inputs)) {
  const found = /^(.*node_modules\/(?:@[^/]+\/)?[^/]+)\//.exec(input);
  if (!found) continue;
  const dir = resolve(found[1]);
  const { name, version } = JSON.parse(readFileSync(join(dir, "package.json"), "utf8"));
  packageDirs.set(`${name}@${version}`, dir);
}
const notices = [...packageDirs.keys()].sort().map((key) => {
  const dir = packageDirs.get(key);
  const { name, version, license } = JSON.parse(readFileSync(join(dir, "package.json"), "utf8"));
  const file = readdirSync(dir).find((f) => /^(LICEN[CS]E|COPYING)(\.(md|txt))?$/i.test(f));
  if (!file) throw new Error(`${name} ${version} ships no licence file: it cannot be bundled without one`);
  return `${name} ${version} (${license})\n\n${readFileSync(join(dir, file), "utf8").trim()}\n`;
});
writeFileSync(join(out, "_console", "THIRD-PARTY-LICENSES.txt"), notices.join("\n" + "-".repeat(72) + "\n\n"));
