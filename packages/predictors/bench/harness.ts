/**
 * The predictor harness on NAS-Bench-201 (White et al. 2021 protocol): train on n random
 * architectures, test on 1,000 others, several seeds. Writes the table into BENCHMARKS.md.
 *
 *   nice -n 10 npx tsx --conditions=@nasjs/source bench/harness.ts [--seeds 5] [--sizes 20,50,100] [--only gp,ridge]
 */
import { writeFileSync, readFileSync, existsSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import {
  type HarnessEntry,
  bayesianLinear,
  formatHarnessTable,
  gaussianProcess,
  gradientBoosting,
  mlp,
  mlpEnsemble,
  randomForest,
  ridge,
  runPredictorHarness,
  summarizeHarness,
} from '../src/index.js'
import { loadNb201Features } from './nb201-data.js'
import { replaceSection } from './markdown.js'
import * as tf from '@tensorflow/tfjs-core'

const { values } = parseArgs({
  options: {
    seeds: { type: 'string', default: '5' },
    sizes: { type: 'string', default: '20,50,100,200,500,1000' },
    only: { type: 'string' },
    'max-mlp-n': { type: 'string', default: '1000' },
    dry: { type: 'boolean', default: false },
  },
})
const seeds = Array.from({ length: Number(values.seeds) }, (_, i) => i)
const sizes = values.sizes.split(',').map(Number)
const data = loadNb201Features('cifar10')

const entries: HarnessEntry[] = [
  { label: 'ridge (path)', predictor: ridge(), features: 'path' },
  { label: 'bayesian-linear (path)', predictor: bayesianLinear(), features: 'path' },
  {
    label: 'gp matern52 (adjacency)',
    predictor: gaussianProcess({ kernel: 'matern52' }),
    features: 'adjacency',
  },
  { label: 'gp rbf (adjacency)', predictor: gaussianProcess({ kernel: 'rbf' }), features: 'adjacency' },
  { label: 'random-forest (adjacency)', predictor: randomForest(), features: 'adjacency' },
  { label: 'gradient-boosting (adjacency)', predictor: gradientBoosting(), features: 'adjacency' },
  { label: 'mlp (path)', predictor: mlp(), features: 'path' },
  { label: 'mlp + ranking loss (path)', predictor: mlp({ rankingWeight: 0.5 }), features: 'path' },
  { label: 'mlp-ensemble x5 (path)', predictor: mlpEnsemble(), features: 'path' },
  { label: 'ridge (path + zc)', predictor: ridge(), features: 'path+zc' },
  { label: 'gp matern52 (path + zc)', predictor: gaussianProcess(), features: 'path+zc' },
  { label: 'random-forest (path + zc)', predictor: randomForest(), features: 'path+zc' },
  { label: 'gradient-boosting (path + zc)', predictor: gradientBoosting(), features: 'path+zc' },
]
const only = values.only?.split(',')
const chosen = only ? entries.filter((e) => only.some((o) => e.label.startsWith(o))) : entries
const maxMlpN = Number(values['max-mlp-n'])

const rows = []
for (const n of sizes) {
  const es = chosen.filter((e) => !e.label.startsWith('mlp') || n <= maxMlpN)
  rows.push(
    ...(await runPredictorHarness({
      entries: es,
      features: data.features,
      defaultFeatures: 'onehot',
      y: data.y,
      trainSizes: [n],
      testSize: 1000,
      seeds,
      onResult: (r) =>
        console.error(
          `${r.label} n=${r.n} seed=${r.seed} tau=${r.kendallTau.toFixed(3)} fit=${r.fitMs.toFixed(0)}ms`,
        ),
    })),
  )
}
const summary = summarizeHarness(rows)
// order: by predictor, then n
const labels = [...new Set(summary.map((s) => s.label))]
summary.sort((a, b) => labels.indexOf(a.label) - labels.indexOf(b.label) || a.n - b.n)
const table = formatHarnessTable(summary)
console.log(table)
const best100 = summary.filter((s) => s.n === 100).sort((a, b) => b.kendallTau - a.kendallTau)
const bestEnc = summary
  .filter((s) => s.n === 100 && !s.label.includes('zc'))
  .sort((a, b) => b.kendallTau - a.kendallTau)
console.log('best at n=100:', best100[0]?.label, best100[0]?.kendallTau.toFixed(3))
console.log('best at n=100 from the encoding alone:', bestEnc[0]?.label, bestEnc[0]?.kendallTau.toFixed(3))

if (!values.dry && !only) {
  const file = fileURLToPath(new URL('../BENCHMARKS.md', import.meta.url))
  const text = existsSync(file) ? readFileSync(file, 'utf8') : '# @nasjs/predictors benchmarks\n'
  const body = [
    `Command: \`cd packages/predictors && nice -n 10 npx tsx --conditions=@nasjs/source bench/harness.ts --seeds ${seeds.length} --sizes ${sizes.join(',')}${maxMlpN < 1000 ? ` --max-mlp-n ${maxMlpN}` : ''}\``,
    '',
    `NAS-Bench-201, CIFAR-10 validation accuracy (\`valid_acc\`, cifar10-valid split, 200 epochs). Per seed (${seeds.join(', ')}): 1,000 random test architectures, nested random training sets of n architectures from the rest. Mean over ${seeds.length} seeds (± standard deviation of Kendall tau). Fit and predict times are wall-clock on this machine (2 shared cores, Node ${process.versions.node}, MLPs on the TF.js \`${tf.getBackend()}\` backend that \`@nasjs/backend\` picked; other helpers' jobs shared the cores, so times are inflated, see the fit-time section). "zc" adds log params, log FLOPs, NASWOT and Zen-NAS scores as extra features.`,
    '',
    table,
    '',
    `Best at n = 100: **${best100[0]?.label}**, Kendall tau ${best100[0]?.kendallTau.toFixed(3)}; from the architecture encoding alone: **${bestEnc[0]?.label}**, ${bestEnc[0]?.kendallTau.toFixed(3)}.`,
  ].join('\n')
  writeFileSync(file, replaceSection(text, 'Predictor harness (NAS-Bench-201)', body))
  console.error(`wrote ${file}`)
}
