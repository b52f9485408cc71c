// RoBoT on NB201 CIFAR-10 with the published NAS-Bench-Suite-Zero proxy scores: 20 seeds, the six
// proxies RoBoT combines (grad_norm, snip, grasp, fisher, synflow, jacov), the whole space as the
// pool, valid_acc (200 epochs) as the objective, at most --queries benchmark queries. Reports the
// mean test accuracy of the architecture each run returns.
// Run: cd packages/proxies && npx tsx --conditions=@nasjs/source bench/robot.ts [--queries 30] [--seeds 20]
import { loadNb201, loadNb201ZeroCost } from '@nasjs/benchmarks/node'
import { Rng } from '@nasjs/core'
import { nb201, type Nb201Arch } from '@nasjs/search-space'
import { createStrategyRegistry, runSearch } from '@nasjs/strategies'
import { builtinStrategies } from '@nasjs/strategies'
import { proxyFeatures, robotStrategy } from '../src/index.js'

const arg = (name: string, d: number) => {
  const i = process.argv.indexOf(`--${name}`)
  return i < 0 ? d : Number(process.argv[i + 1])
}
const queries = arg('queries', 30)
const seeds = arg('seeds', 20)
const proxies = (
  process.argv.includes('--proxies')
    ? process.argv[process.argv.indexOf('--proxies') + 1]!
    : 'grad_norm,snip,grasp,fisher,synflow,jacov'
).split(',')
const bench = loadNb201()
const zc = loadNb201ZeroCost(bench, 'cifar10')
const features = proxyFeatures<Nb201Arch>({ ...zc.columns, ...zc.suite }, (a) => bench.indexOf(a), proxies)
const registry = createStrategyRegistry([...builtinStrategies, robotStrategy])
const results: number[] = []
const t0 = performance.now()
for (let seed = 0; seed < seeds; seed++) {
  const strategy = registry.create(
    'robot',
    {},
    {
      space: nb201,
      rng: new Rng(seed),
      objectives: [{ name: 'valid_acc', direction: 'max' }],
      features: features,
    },
  )
  const r = await runSearch({
    space: nb201,
    strategy,
    evaluator: (a) => Promise.resolve({ ...bench.query(a, 'cifar10') }),
    objectives: ['valid_acc:max'],
    budget: { evaluations: queries },
    seed,
  })
  const best = r.best!
  const test = bench.query(best.arch, 'cifar10').test_acc!
  results.push(test)
  console.error(
    `seed ${seed}: ${r.evaluations} queries, picked ${nb201.format(best.arch)} test_acc ${test.toFixed(2)}`,
  )
}
const mean = results.reduce((a, b) => a + b, 0) / results.length
const sd = Math.sqrt(results.reduce((a, b) => a + (b - mean) ** 2, 0) / results.length)
console.log(
  JSON.stringify({
    queries,
    seeds,
    proxies,
    meanTestAcc: mean,
    sd,
    seconds: (performance.now() - t0) / 1000,
  }),
)
