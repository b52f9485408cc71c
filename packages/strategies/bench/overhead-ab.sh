#!/usr/bin/env bash
# Driver trials/s, before and now: bench/overhead.ts in this checkout and in an older one, each setting
# in fresh processes, the order alternating setting by setting.
#   git worktree add /tmp/base c90a8d2 && (cd /tmp/base && pnpm install --no-frozen-lockfile)
#   packages/strategies/bench/overhead-ab.sh /tmp/base
# The older driver took `journal: path` where this one takes `storage: fileStorage(path)`; this script
# writes that variant of bench/overhead.ts into the older checkout.
set -euo pipefail
base=$(cd "$1" && pwd)
here=$(cd "$(dirname "$0")/../../.." && pwd)
sed -e "/import { fileStorage } from '..\/src\/node\/index.js'/d" \
  -e "s#import type { CacheMode } from '@nasjs/core'#import type { CacheMode } from '../src/index.js'#" \
  -e "s#storage: fileStorage(join(dir, \`j\${k++}.jsonl\`))#journal: join(dir, \`j\${k++}.jsonl\`)#" \
  -e "s#objectives: \['acc:max'\] as const,#objectives: ['acc:max'],#" \
  "$here/packages/strategies/bench/overhead.ts" >"$base/packages/strategies/bench/overhead.ts"
i=0
for c in '["random","functional",false]' '["random","off",false]' '["random","functional",true]' \
  '["rea","functional",false]' '["rea","off",false]' '["rea","functional",true]' '["ls","functional",false]' \
  '["nsga2","functional",false]' '["mcts","functional",false]' '["reinforce","functional",false]'; do
  if [ $((i % 2)) -eq 0 ]; then order="before now"; else order="now before"; fi
  for side in $order; do
    dir=$base
    [ "$side" = now ] && dir=$here
    r=$(cd "$dir/packages/strategies" && npx tsx --conditions=@nasjs/source bench/overhead.ts --one "$c" | tail -1)
    echo "$c $side $r"
  done
  i=$((i + 1))
done
