#!/usr/bin/env bash
# Packs lethe with `npm pack`, installs the tarball in a clean folder and runs `lethe selfcheck` from
# there: the package must build its addon and run without the repository around it.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
cd "$root"
tarball="$(npm pack --silent --pack-destination "$work" | tail -n 1)"
cd "$work"
npm init -y >/dev/null
# node-llama-cpp's optional CUDA/Vulkan builds are ~600 MB that lethe never loads.
npm install --omit=optional --no-audit --no-fund "./$tarball" >/dev/null
npx --no-install lethe selfcheck --json --steps 20 | tail -n 1 | node -e '
  let s = ""; process.stdin.on("data", (d) => (s += d)).on("end", () => {
    const r = JSON.parse(s);
    if (!r.ok) { console.error("packed lethe selfcheck failed:", s); process.exit(1); }
    console.log(`packed lethe works: selfcheck ok (${r.cpuVariant}, ${r.cpuBackend}, ${r.trainTokensPerSecond} tok/s)`);
  });'
