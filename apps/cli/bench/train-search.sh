#!/usr/bin/env bash
# A real training search, timed: `nas search --evaluator train --data fashion-mnist --strategy rea
# --budget 30` with 1 worker, then with 2 (worker threads), on the built CLI; prints the wall time of
# each, the ratio, and the best architecture. Run on an otherwise idle machine:
#   pnpm build && bash apps/cli/bench/train-search.sh [budget]
set -euo pipefail
cd "$(dirname "$0")/.."
budget=${1:-30}
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
declare -A secs
for c in 1 2; do
  start=$(date +%s.%N)
  node dist/bin.js search --evaluator train --data fashion-mnist --strategy rea --budget "$budget" \
    --concurrency "$c" --out "$out/c$c" --json 2> "$out/progress-$c.ndjson" > "$out/summary-$c.json"
  end=$(date +%s.%N)
  secs[$c]=$(awk -v a="$start" -v b="$end" 'BEGIN { print b - a }')
  node -e '
    const s = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8").trim().split("\n").pop())
    console.log(`workers ${process.argv[2]}: ${(+process.argv[3]).toFixed(0)} s, ${s.trials} trials, best valid_acc ${s.best.metrics.valid_acc.toFixed(2)} test_acc ${s.best.metrics.test_acc.toFixed(2)} (${s.best.arch})`)
  ' "$out/summary-$c.json" "$c" "${secs[$c]}"
done
awk -v a="${secs[1]}" -v b="${secs[2]}" 'BEGIN { printf "speed-up with 2 workers: %.2fx\n", a / b }'
