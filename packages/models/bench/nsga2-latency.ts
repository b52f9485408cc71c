// NSGA-II on NB201 CIFAR-10 (validation accuracy from the benchmark) against latency on this
// machine's TF.js backend, once with latency measured for every candidate (latency.tfjs-<backend>)
// and once predicted by a latency table (latency.lut, bench/latency-lut.ts's table). Reports each
// run's wall time, and the hypervolume of both fronts with every front member measured again at the
// end under the same conditions (the LUT run's front judged on measured latency).
// Run: cd packages/models && npx tsx --conditions=@nasjs/source bench/nsga2-latency.ts [--lut file.json] [--evaluations 300] [--seeds 3]
import { readFileSync } from 'node:fs'
import { initBackend } from '@nasjs/backend'
import { createNb201Evaluator } from '@nasjs/benchmarks'
import { loadNb201 } from '@nasjs/benchmarks/node'
import { Rng, hypervolume, parseLatencyTable, type Metrics } from '@nasjs/core'
import { nb201, type Nb201Arch } from '@nasjs/search-space'
import { builtinStrategies, createStrategyRegistry, runSearch } from '@nasjs/strategies'
import { buildModel, hardwareMetrics, measureLatency, withHardwareMetrics } from '../src/index.js'
import { quietGateForMachine } from '../src/node/index.js'

const arg = (name: string, d: string) => {
  const i = process.argv.indexOf(`--${name}`)
  return i < 0 ? d : process.argv[i + 1]!
}
const info = await initBackend({ quiet: true })
const latencyMetric = `latency.tfjs-${info.tfName}`
const table = parseLatencyTable(
  JSON.parse(readFileSync(arg('lut', '../../node_modules/.cache/nasjs/lut-nb201.json'), 'utf8')),
)
const bench = loadNb201()
const registry = createStrategyRegistry(builtinStrategies)
const evaluations = Number(arg('evaluations', '300'))
const gate = quietGateForMachine({ cwd: '../..' })

async function search(metric: string, seed: number) {
  const hw = hardwareMetrics({ space: nb201, metrics: [metric], table, gate })
  const inner = createNb201Evaluator(bench, { dataset: 'cifar10', metrics: ['valid_acc'] })
  const { evaluator } = withHardwareMetrics(inner, inner.info, hw)
  const objectives = ['valid_acc:max', `${metric}:min`] as const
  const strategy = registry.create(
    'nsga2',
    {},
    {
      space: nb201,
      rng: new Rng(seed),
      objectives: [
        { name: 'valid_acc', direction: 'max' },
        { name: metric, direction: 'min' },
      ],
    },
  )
  const t0 = performance.now()
  const r = await runSearch({ space: nb201, strategy, evaluator, objectives, budget: { evaluations }, seed })
  const seconds = (performance.now() - t0) / 1000
  return { seconds, front: r.front.map((t) => t.arch) }
}

const measure = async (arch: Nb201Arch) => {
  const model = buildModel(nb201, arch)
  try {
    return (
      await gate.run(
        () => measureLatency(model, { runs: 30, warmup: 10, passes: 3 }),
        (r) => r.median,
      )
    ).median
  } finally {
    model.dispose()
  }
}

for (let seed = 0; seed < Number(arg('seeds', '3')); seed++) {
  const measured = await search(latencyMetric, seed)
  const lut = await search('latency.lut', seed)
  // every front member measured again, now, so both fronts are judged under the same conditions
  const points = async (front: Nb201Arch[]) => {
    const out: number[][] = []
    for (const a of front) {
      const acc = (bench.query(a, 'cifar10') as Metrics)['valid_acc']!
      out.push([100 - acc, await measure(a)])
    }
    return out
  }
  const pm = await points(measured.front)
  const pl = await points(lut.front)
  const all = [...pm, ...pl]
  const ref = [Math.max(...all.map((p) => p[0]!)) + 1, Math.max(...all.map((p) => p[1]!)) * 1.1]
  const hvMeasured = hypervolume(pm, ref)
  const hvLut = hypervolume(pl, ref)
  console.log(
    JSON.stringify({
      seed,
      evaluations,
      measuredSeconds: measured.seconds,
      lutSeconds: lut.seconds,
      speedup: measured.seconds / lut.seconds,
      frontSizes: [pm.length, pl.length],
      hypervolumeRatio: hvLut / hvMeasured,
    }),
  )
}
