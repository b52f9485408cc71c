/**
 * HELP on a device of our own: the TF.js wasm backend of this machine, NB201 CIFAR-10 networks at
 * batch 1. Measures the model's reference architectures (10), its two range references, 30
 * candidate support architectures from the pool and 100 query architectures (NB201 indices
 * 900..1899), then adapts the meta-trained model from 10 of the candidates (5 draws) and compares
 * its predictions with the measurements.
 *
 *   npx tsx --conditions=@nasjs/source bench/help-wasm.ts --model help-nb201-seed3.json [--query 100] [--json]
 *
 * Run it with the machine otherwise idle.
 */
import { readFileSync } from 'node:fs'
import { formatBackendInfo, initBackend } from '@nasjs/backend'
import { Rng, kendallTau, spearmanRho } from '@nasjs/core'
import { buildModel, measureLatency, warmUpBackend } from '@nasjs/models'
import { quietGateForMachine } from '@nasjs/models/node'
import { nb201 } from '@nasjs/search-space'
import { adaptHelp, loadHelp } from '../src/index.js'
import { helpNb201Data } from './help-nb201.js'

const args = process.argv.slice(2)
const opt = (name: string) => {
  const i = args.indexOf(`--${name}`)
  return i >= 0 ? args[i + 1] : undefined
}
const info = await initBackend({ quiet: true })
const modelPath = opt('model') ?? 'node_modules/.cache/nasjs/help-nb201-seed3.json'
const model = await loadHelp(JSON.parse(readFileSync(modelPath, 'utf8')))
const data = helpNb201Data()
const rng = new Rng('help-wasm')
const candidates = rng.sample(
  data.pool.filter((i) => !model.references.includes(i)),
  30,
)
const query = rng.sample(data.query, Number(opt('query') ?? 100))
const toMeasure = [...new Set([...model.references, ...model.rangeReferences, ...candidates, ...query])]
const gate = quietGateForMachine()
await warmUpBackend(nb201, undefined, { seconds: 3, batch: 1 })
const ms = new Map<number, number>()
const t0 = performance.now()
for (let round = 0; round < 2; round++) {
  for (const [k, i] of toMeasure.entries()) {
    const net = buildModel(nb201, data.archs[i]!)
    try {
      const m = await gate.run(
        () => measureLatency(net, { batch: 1, warmup: 10, runs: 30, passes: 3 }),
        (r) => r.median,
      )
      ms.set(i, Math.min(ms.get(i) ?? Infinity, m.median))
    } finally {
      net.dispose()
    }
    if (k % 20 === 0) process.stderr.write(`round ${round + 1}: ${k + 1}/${toMeasure.length} measured\n`)
  }
}
const measureSeconds = (performance.now() - t0) / 1000
const truth = query.map((i) => ms.get(i)!)
const draws = Array.from({ length: 5 }, (_, k) => {
  const sup = new Rng(`draw/${k}`).sample(candidates, 10)
  const fitted = adaptHelp(model, {
    references: model.references.map((i) => ms.get(i)!),
    rangeLatencies: model.rangeReferences.map((i) => ms.get(i)!),
    support: sup.map((i) => ({ graph: data.graphs[i]!, ms: ms.get(i)! })),
    seed: k,
  })
  try {
    const p = fitted.predict(query.map((i) => data.graphs[i]!))
    const rel = truth.map((t, j) => Math.abs(p.ms[j]! - t) / t)
    return {
      spearman: spearmanRho(p.normalized, truth),
      kendall: kendallTau(p.normalized, truth),
      within10: rel.filter((e) => e <= 0.1).length / rel.length,
      mape: rel.reduce((a, b) => a + b, 0) / rel.length,
    }
  } finally {
    fitted.dispose()
  }
})
const median = (v: number[]) => [...v].sort((a, b) => a - b)[Math.floor(v.length / 2)]!
const summary = {
  backend: formatBackendInfo(info).split('; ')[0] ?? info.tfName,
  model: modelPath,
  measured: toMeasure.length,
  measureSeconds,
  medianQueryMs: median(truth),
  spearman: median(draws.map((d) => d.spearman)),
  kendall: median(draws.map((d) => d.kendall)),
  within10: median(draws.map((d) => d.within10)),
  mape: median(draws.map((d) => d.mape)),
  draws,
}
if (args.includes('--json')) console.log(JSON.stringify(summary, null, 2))
else {
  console.log(`| device | measured | query | Spearman | Kendall tau | within 10 % | MAPE |`)
  console.log(`|---|---|---|---|---|---|---|`)
  console.log(
    `| this machine, ${summary.backend} | ${toMeasure.length} nets, ${measureSeconds.toFixed(0)} s | ${query.length} (median ${summary.medianQueryMs.toFixed(2)} ms) | ${summary.spearman.toFixed(3)} | ${summary.kendall.toFixed(3)} | ${(summary.within10 * 100).toFixed(0)} % | ${(summary.mape * 100).toFixed(1)} % |`,
  )
  console.log(`\nmedians over 5 draws of 10 support architectures`)
}
model.dispose()
