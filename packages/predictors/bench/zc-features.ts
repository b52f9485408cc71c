/**
 * Do the NAS-Bench-Suite-Zero proxies help an accuracy model? Fits a random forest and gradient
 * boosting on one-hot + path encodings plus the six free metrics, with and without the suite's
 * proxies, on n random NB201 cells; reports the Kendall tau on 1,000 held-out cells and the median
 * predicted rank (of 15,625) of the 50 best cells (highest CIFAR-10 validation accuracy, or with
 * `--target latency.pixel3` the lowest latency), and the RMSE.
 *
 *   nice -n 10 npx tsx --conditions=@nasjs/source bench/zc-features.ts [--seeds 5] [--sizes 100,300]
 *     [--target valid_acc | latency.pixel3]
 *     [--proxies epe_nas,fisher,grad_norm,grasp,jacov,l2_norm,plain,snip,synflow]
 */
import { parseArgs } from 'node:util'
import { Rng, kendallTau } from '@nasjs/core'
import { loadNb201, nb201FreeFeatures } from '@nasjs/benchmarks/node'
import { nb201 } from '@nasjs/search-space'
import { gradientBoosting, randomForest, rmse } from '../src/index.js'

const { values } = parseArgs({
  options: {
    seeds: { type: 'string', default: '5' },
    sizes: { type: 'string', default: '100,300' },
    target: { type: 'string', default: 'valid_acc' },
    proxies: { type: 'string', default: 'epe_nas,fisher,grad_norm,grasp,jacov,l2_norm,plain,snip,synflow' },
  },
})
const bench = loadNb201()
const N = bench.size
const y = bench.column('cifar10', values.target)
// Larger is better for accuracy, smaller for a latency.
const better = values.target.startsWith('latency.') ? -1 : 1
const FREE = ['params', 'flops', 'naswot', 'zen', 'live_ops', 'executed_ops']
const base = nb201FreeFeatures(bench, 'cifar10', { metrics: FREE })
const plus = nb201FreeFeatures(bench, 'cifar10', { metrics: [...FREE, ...values.proxies.split(',')] })
const enc = Array.from({ length: N }, (_, i) => {
  const a = bench.archAt(i)
  return [...nb201.encode(a, 'onehot'), ...nb201.encode(a, 'path')]
})
const sets = {
  'six free metrics': enc.map((r, i) => [...r, ...base.of(i)]),
  'plus the proxies': enc.map((r, i) => [...r, ...plus.of(i)]),
}
const top50 = Array.from({ length: N }, (_, i) => i)
  .sort((a, b) => better * (y[b]! - y[a]!))
  .slice(0, 50)
const mean = (v: number[]) => v.reduce((a, b) => a + b, 0) / v.length

console.log(`target ${values.target}`)
console.log('| n | features | model | Kendall tau | median rank of the best 50 | RMSE |')
console.log('|---:|---|---|---:|---:|---:|')
for (const n of values.sizes.split(',').map(Number)) {
  for (const [label, X] of Object.entries(sets)) {
    for (const [model, make] of [
      ['random forest', () => randomForest()],
      ['gradient boosting', () => gradientBoosting()],
    ] as const) {
      const taus: number[] = []
      const ranks: number[] = []
      const errors: number[] = []
      for (let s = 0; s < Number(values.seeds); s++) {
        const perm = new Rng(s).sample(
          Array.from({ length: N }, (_, i) => i),
          n + 1000,
        )
        const train = perm.slice(0, n)
        const test = perm.slice(n)
        const fitted = await make().fit(
          train.map((i) => X[i]!),
          train.map((i) => y[i]!),
          { rng: new Rng(s) },
        )
        const pred = fitted.predict(X).mean
        taus.push(
          kendallTau(
            test.map((i) => pred[i]!),
            test.map((i) => y[i]!),
          ),
        )
        const rank = new Int32Array(N)
        Array.from({ length: N }, (_, i) => i)
          .sort((a, b) => better * (pred[b]! - pred[a]!))
          .forEach((c, r) => (rank[c] = r + 1))
        ranks.push(top50.map((c) => rank[c]!).sort((a, b) => a - b)[25]!)
        errors.push(
          rmse(
            test.map((i) => pred[i]!),
            test.map((i) => y[i]!),
          ),
        )
      }
      console.log(
        `| ${n} | ${label} | ${model} | ${mean(taus).toFixed(3)} | ${mean(ranks).toFixed(0)} | ${mean(errors).toFixed(2)} |`,
      )
    }
  }
}
