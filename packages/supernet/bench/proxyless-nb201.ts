/**
 * ProxylessNAS on the NAS-Bench-201 space with a latency loss: the expected Pixel 3 latency (per-edge
 * latencies fitted to HW-NAS-Bench's whole-network figures in the NB201 table) joins the
 * architecture loss with weight lambda; for each lambda and seed, the derived cell's Pixel 3 latency
 * and CIFAR-10 test accuracy from the table. Same data and supernet as bench/oneshot-nb201.ts.
 *
 *   npx tsx --conditions=@nasjs/source bench/proxyless-nb201.ts [--lambdas 0,0.1,1] [--seeds 2]
 *     [--epochs 10] [--train 1000] [--valid 1000] [--arch-lr 0.01] [--device pixel3]
 */
import { parseArgs } from 'node:util'
import { initBackend } from '@nasjs/backend'
import { loadNb201 } from '@nasjs/benchmarks/node'
import { loadDataset } from '@nasjs/models/node'
import { nb201 } from '@nasjs/search-space'
import { CellSupernet, nb201EdgeLatencies, searchCell } from '../src/index.js'

const { values } = parseArgs({
  options: {
    lambdas: { type: 'string', default: '0,0.1,1' },
    seeds: { type: 'string', default: '2' },
    epochs: { type: 'string', default: '10' },
    train: { type: 'string', default: '1000' },
    valid: { type: 'string', default: '1000' },
    'arch-lr': { type: 'string', default: '0.01' },
    device: { type: 'string', default: 'pixel3' },
  },
})
await initBackend({ quiet: true })
const bench = loadNb201()
const metric = `latency.${values.device}`
const cells = Array.from({ length: bench.size }, (_, i) => bench.archAt(i))
const latency = nb201EdgeLatencies(cells, bench.column('cifar10', metric))
const log = (s: string) => process.stderr.write(`${s}\n`)
log(
  `per-edge ${metric} (ms, CELL_OPS order): ${JSON.stringify(latency.map((r) => r.map((v) => +v.toFixed(3))))}`,
)
const rows: { lambda: number; seed: number; arch: string; lat: number; acc: number; expected: number }[] = []
for (const lambda of values.lambdas.split(',').map(Number)) {
  for (let seed = 0; seed < Number(values.seeds); seed++) {
    const data = await loadDataset('fashion-mnist', {
      train: Number(values.train),
      valid: Number(values.valid),
      seed,
    })
    const net = new CellSupernet({
      channels: 8,
      cellsPerStage: 1,
      inputShape: [28, 28, 1],
      classes: 10,
      seed,
    })
    const t0 = performance.now()
    const r = await searchCell(net, data.train, data.valid, {
      method: 'proxyless',
      epochs: Number(values.epochs),
      archLr: Number(values['arch-lr']),
      latency,
      latencyWeight: lambda,
      seed,
    })
    const w = net.opWeights()
    const expected = w.reduce((s, row, e) => s + row.reduce((t, v, k) => t + v * latency[e]![k]!, 0), 0)
    const m = bench.query(r.arch, 'cifar10')
    const row = {
      lambda,
      seed,
      arch: nb201.format(r.arch),
      lat: m[metric]!,
      acc: m.test_acc!,
      expected,
    }
    rows.push(row)
    log(
      `lambda ${lambda} seed ${seed}: ${row.arch} ${metric} ${row.lat.toFixed(3)} ms, CIFAR-10 test ${row.acc.toFixed(2)} (${((performance.now() - t0) / 60000).toFixed(1)} min)`,
    )
    net.dispose()
  }
}
console.log(`| lambda | seed | derived cell | ${metric} (ms) | CIFAR-10 test (%) |`)
console.log('| --: | --: | --- | --: | --: |')
for (const r of rows) {
  console.log(`| ${r.lambda} | ${r.seed} | \`${r.arch}\` | ${r.lat.toFixed(3)} | ${r.acc.toFixed(2)} |`)
}
for (const lambda of new Set(rows.map((r) => r.lambda))) {
  const xs = rows.filter((r) => r.lambda === lambda)
  const mean = (f: (r: (typeof rows)[number]) => number) => xs.reduce((s, r) => s + f(r), 0) / xs.length
  console.log(
    `\nlambda ${lambda}: mean ${metric} ${mean((r) => r.lat).toFixed(3)} ms, test ${mean((r) => r.acc).toFixed(2)} %`,
  )
}
