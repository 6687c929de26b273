// `npm test` runs this first (pretest): the tests need two Debian packages, wabt
// (wasm-validate, wasm-interp: a second WebAssembly engine) and libonnx-testdata (the ONNX
// backend node tests). When one is missing and we are root on a Debian-like system, install
// it; otherwise say exactly what to run and fail, rather than letting tests fail obscurely.
import { execSync, spawnSync } from "node:child_process";
import { existsSync } from "node:fs";

const need = [];
if (spawnSync("wasm-interp", ["--version"]).status !== 0) need.push("wabt");
if (!existsSync("/usr/share/libonnx-testdata/data/node")) need.push("libonnx-testdata");
if (need.length === 0) process.exit(0);

const root = typeof process.getuid === "function" && process.getuid() === 0;
const apt = spawnSync("apt-get", ["--version"]).status === 0;
if (root && apt) {
  console.error(`picojoule tests: installing ${need.join(" ")} (apt-get)...`);
  try {
    execSync("apt-get update -qq", { stdio: "inherit" });
    execSync(`apt-get install -y -qq --no-install-recommends ${need.join(" ")}`, { stdio: "inherit", env: { ...process.env, DEBIAN_FRONTEND: "noninteractive" } });
    process.exit(0);
  } catch {
    console.error(`picojoule tests: apt-get could not install ${need.join(" ")}`);
    process.exit(1);
  }
}
console.error(`picojoule tests need the Debian packages ${need.join(" ")}: run  sudo apt-get install ${need.join(" ")}`);
process.exit(1);
