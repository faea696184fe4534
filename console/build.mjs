// Builds the console into shared/pipelines/console/static (committed; tests/console/test_bundle.py
// rebuilds into a temporary folder and fails if the committed files differ).
// Usage: node console/build.mjs [outdir]
import { build } from "esbuild";
import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const out = resolve(process.argv[2] ?? join(here, "..", "shared", "pipelines", "console", "static"));
mkdirSync(join(out, "_console"), { recursive: true });
await build({
  entryPoints: { app: join(here, "src", "main.ts") },
  bundle: true,
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

// The licences of every npm package bundled into app.js, served beside it.
const bundled = ["@dagrejs/dagre", "@dagrejs/graphlib", "diff"];
const notices = bundled.map((name) => {
  const dir = join(here, "..", "node_modules", name);
  const { version, license } = JSON.parse(readFileSync(join(dir, "package.json"), "utf8"));
  return `${name} ${version} (${license})\n\n${readFileSync(join(dir, "LICENSE"), "utf8").trim()}\n`;
});
writeFileSync(join(out, "_console", "THIRD-PARTY-LICENSES.txt"), notices.join("\n" + "-".repeat(72) + "\n\n"));
