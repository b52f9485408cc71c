// Measurement repeatability: the same networks measured in --processes separate processes (one after
// another), each with warm-up, --runs timed inferences, outliers rejected and the median kept. Reports
// each process's median, the median of medians and the largest deviation from it, and the load
// average of the machine while it ran.
// Run: cd packages/models && npx tsx --conditions=@nasjs/source bench/latency-repeat.ts [--processes 5] [--runs 50]
import { spawnSync } from 'node:child_process'
import { loadavg } from 'node:os'
import { fileURLToPath } from 'node:url'
import { initBackend } from '@nasjs/backend'
import { getSpace } from '@nasjs/search-space'
import { buildModel, measureLatency, warmUpBackend } from '../src/index.js'
import { quietGateForMachine } from '../src/node/index.js'

const arg = (name: string, d: string) => {
  const i = process.argv.indexOf(`--${name}`)
  return i < 0 ? d : process.argv[i + 1]!
}
const NETWORKS: { space: string; arch: string }[] = [
  {
    space: 'nb201',
    arch: '|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_1x1~2|',
  },
  {
    space: 'nb201',
    arch: '|avg_pool_3x3~0|+|nor_conv_1x1~0|none~1|+|avg_pool_3x3~0|skip_connect~1|nor_conv_1x1~2|',
  },
  {
    space: 'ofa-mbv3',
    arch: JSON.stringify({ ks: Array(20).fill(5), e: Array(20).fill(4), d: [3, 3, 3, 3, 3], r: [160] }),
  },
]
const runs = Number(arg('runs', '50'))

if (process.argv.includes('--child')) {
  await initBackend({ quiet: true })
  // as nas hardware measures: the JIT warmed up first, each network timed in 3 passes (the lowest
  // median kept) between two probes of the machine's speed, again while the machine is busy
  await warmUpBackend(getSpace('nb201'), undefined, { seconds: 3 })
  const gate = quietGateForMachine({ cwd: '../..' })
  const out: number[] = []
  for (const n of NETWORKS) {
    const space = getSpace(n.space)
    const model = buildModel(space, space.parse(n.arch))
    out.push(
      (
        await gate.run(
          () => measureLatency(model, { runs, warmup: 10, passes: 3 }),
          (r) => r.median,
        )
      ).median,
    )
    model.dispose()
  }
  console.log(JSON.stringify(out))
} else {
  const processes = Number(arg('processes', '5'))
  const medians: number[][] = []
  const loads: number[] = []
  for (let p = 0; p < processes; p++) {
    const r = spawnSync(
      process.execPath,
      [...process.execArgv, fileURLToPath(import.meta.url), '--child', '--runs', String(runs)],
      { encoding: 'utf8' },
    )
    if (r.status !== 0) throw new Error(r.stderr)
    medians.push(JSON.parse(r.stdout.trim().split('\n').pop()!) as number[])
    loads.push(loadavg()[0]!)
  }
  const med = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1]!
  for (const [i, n] of NETWORKS.entries()) {
    const ms = medians.map((m) => m[i]!)
    const m = med(ms)
    console.log(
      JSON.stringify({
        space: n.space,
        arch: n.arch,
        medians: ms.map((x) => Number(x.toFixed(3))),
        medianOfMedians: m,
        maxDeviation: Math.max(...ms.map((x) => Math.abs(x - m) / m)),
        spread: (Math.max(...ms) - Math.min(...ms)) / m,
      }),
    )
  }
  console.log(JSON.stringify({ loadAverage1min: loads.map((l) => Number(l.toFixed(2))) }))
}
