// ParZC as BANANAS's surrogate on NAS-Bench-201 CIFAR-10: bananas with its default MLP ensemble on
// the path encoding against bananas with ParZC on per-layer zero-cost statistics (extraFeatures:
// 'only'), the objective NB201 CIFAR-10 validation accuracy (200 epochs), --queries table queries,
// --seeds seeds. ParZC's features: the full CIFAR-10 network with PyTorch's initialisation, one fixed
// batch of 16 Fashion-MNIST images fitted to 32x32x3 (as bench/parzc.ts). Features are kept in
// --cache (JSON lines by cell index), so a run resumes and seeds share them. Reports the mean test
// accuracy of the returned cell, the cells whose features were computed, and seconds per cell.
// Run: cd packages/proxies && npx tsx --conditions=@nasjs/source bench/parzc-bananas.ts [--queries 50] [--seeds 5] [--cache node_modules/.cache/nasjs/parzc-features.jsonl]
import { appendFileSync, existsSync, mkdirSync, readFileSync } from 'node:fs'
import { dirname } from 'node:path'
import { initBackend } from '@nasjs/backend'
import { loadNb201 } from '@nasjs/benchmarks/node'
import { Rng } from '@nasjs/core'
import { loadDataset } from '@nasjs/models/node'
import { predictorStrategiesWith } from '@nasjs/predictors'
import { nb201, type Nb201Arch } from '@nasjs/search-space'
import { builtinStrategies, createStrategyRegistry, runSearch } from '@nasjs/strategies'
import { fitToShape, parzcFeatureSource, parzcPredictor, sampleBatch } from '../src/index.js'

const arg = (name: string, d: string) => {
  const i = process.argv.indexOf(`--${name}`)
  return i < 0 ? d : process.argv[i + 1]!
}
const queries = Number(arg('queries', '50'))
const seeds = Number(arg('seeds', '5'))
const cacheFile = arg('cache', 'node_modules/.cache/nasjs/parzc-features.jsonl')
await initBackend({ quiet: true })
const bench = loadNb201()
const data = fitToShape((await loadDataset('fashion-mnist', { train: 2000, seed: 0 })).train, [32, 32, 3])
const source = parzcFeatureSource({ space: nb201, batch: sampleBatch(data, 16, new Rng(16)) })
const cached = new Map<number, number[]>()
if (existsSync(cacheFile)) {
  for (const line of readFileSync(cacheFile, 'utf8').split('\n').filter(Boolean)) {
    const r = JSON.parse(line) as { index: number; features: number[] }
    cached.set(r.index, r.features)
  }
}
mkdirSync(dirname(cacheFile), { recursive: true })
let seconds = 0
let computed = 0
const features = (a: Nb201Arch): number[] => {
  const index = bench.indexOf(a)
  const hit = cached.get(index)
  if (hit !== undefined) return hit
  const t0 = performance.now()
  const f = source.features(a)
  seconds += (performance.now() - t0) / 1000
  computed++
  cached.set(index, f)
  appendFileSync(cacheFile, `${JSON.stringify({ index, features: f })}\n`)
  return f
}
const registry = createStrategyRegistry([...builtinStrategies, ...predictorStrategiesWith([parzcPredictor])])
const objectives = [{ name: 'valid_acc', direction: 'max' }] as const
const arms = {
  'bananas (MLP ensemble, path encoding)': {},
  'bananas (ParZC, per-layer statistics)': { predictor: { kind: 'parzc' }, extraFeatures: 'only' },
} as const
const testAcc = (a: Nb201Arch) => bench.query(a, 'cifar10').test_acc!
const summary: Record<string, number[]> = {}
for (const [label, config] of Object.entries(arms)) {
  summary[label] = []
  for (let seed = 0; seed < seeds; seed++) {
    const t0 = performance.now()
    const strategy = registry.create('bananas', config, {
      space: nb201,
      rng: new Rng(seed),
      objectives,
      features,
    })
    const r = await runSearch({
      space: nb201,
      strategy,
      evaluator: (a: Nb201Arch) => Promise.resolve({ valid_acc: bench.query(a, 'cifar10').valid_acc! }),
      objectives,
      budget: { evaluations: queries },
      seed,
    })
    const acc = testAcc(r.best!.arch)
    summary[label].push(acc)
    process.stderr.write(
      `${label} seed ${seed}: test ${acc.toFixed(2)} (${((performance.now() - t0) / 1000).toFixed(0)} s; features computed so far ${computed}, ${computed > 0 ? (seconds / computed).toFixed(2) : '-'} s each)\n`,
    )
  }
}
const best = Math.max(...bench.column('cifar10', 'test_acc').filter(Number.isFinite))
console.log(`| surrogate | queries | seeds | mean test acc (%) | min | max |`)
console.log(`| --- | --: | --: | --: | --: | --: |`)
for (const [label, xs] of Object.entries(summary)) {
  const mean = xs.reduce((s, v) => s + v, 0) / xs.length
  console.log(
    `| ${label} | ${queries} | ${xs.length} | ${mean.toFixed(2)} | ${Math.min(...xs).toFixed(2)} | ${Math.max(...xs).toFixed(2)} |`,
  )
}
console.log(
  `\nbest cell in the table: ${best.toFixed(2)}; ParZC features: ${cached.size} cells in ${cacheFile}, ${computed} computed this run at ${computed > 0 ? (seconds / computed).toFixed(2) : '-'} s each`,
)
