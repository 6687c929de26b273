/**
 * Where picojoule's own files are (runtime-as/, targets/, asconfig.json), whether we run
 * from the TypeScript sources (tests) or from the compiled dist/ (CLI).
 */
import { existsSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

let root: string | undefined;

export function packageRoot(): string {
  if (root) return root;
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const pj = join(dir, "package.json");
    if (existsSync(pj) && JSON.parse(readFileSync(pj, "utf8")).name === "picojoule") return (root = dir);
    const up = dirname(dir);
    if (up === dir) throw new Error("cannot find picojoule's package.json");
    dir = up;
  }
}

export function version(): string {
  return JSON.parse(readFileSync(join(packageRoot(), "package.json"), "utf8")).version;
}
