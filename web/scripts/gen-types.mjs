// Generate src/lib/api/schema.d.ts from openapi.json (the server's schema, written by
// `make types`) and stamp it with the schema's sha256, so a Python test can tell
// whether the committed types were generated from the committed schema.
// `--check` only verifies, for CI.
import { createHash } from "node:crypto";
import { execFileSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("..", import.meta.url));
const schema = `${root}openapi.json`;
const out = `${root}src/lib/api/schema.d.ts`;
const stamp = `${root}src/lib/api/schema.sha256`;
const check = process.argv.includes("--check");

const digest = createHash("sha256").update(readFileSync(schema)).digest("hex");
const bin = `${root}node_modules/.bin/openapi-typescript`;
try {
  execFileSync(bin, [schema, "-o", out, ...(check ? ["--check"] : [])], { stdio: "inherit" });
} catch {
  console.error(
    check
      ? "src/lib/api/schema.d.ts is not what openapi.json generates: run `make types`."
      : "openapi-typescript failed.",
  );
  process.exit(1);
}
if (check) {
  const recorded = readFileSync(stamp, "utf8").trim();
  if (recorded !== digest) {
    console.error("src/lib/api/schema.sha256 does not match openapi.json: run `make types`.");
    process.exit(1);
  }
} else {
  writeFileSync(stamp, `${digest}\n`);
}
