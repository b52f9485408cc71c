/**
 * FBNetV3-style predictor pretraining on NAS-Bench-201: an MLP on the path encoding, plain vs
 * pretrained to predict free statistics (log params, log FLOPs) of all 15,625 architectures before
 * fitting validation accuracy. Writes a section of BENCHMARKS.md.
 *
 *   nice -n 10 npx tsx --conditions=@nasjs/source bench/pretrain.ts [--seeds 5]
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { formatHarnessTable, mlp, runPredictorHarness, summarizeHarness } from '../src/index.js'
import { replaceSection } from './markdown.js'
import { loadNb201Features } from './nb201-data.js'

const { values } = parseArgs({
  options: {
    seeds: { type: 'string', default: '5' },
    sizes: { type: 'string', default: '20,50,100,200' },
    dry: { type: 'boolean', default: false },
  },
})
const data = loadNb201Features('cifar10')
const params = data.bench.column('cifar10', 'params')
const flops = data.bench.column('cifar10', 'flops')
const targets = Array.from({ length: data.bench.size }, (_, i) => [params[i]!, flops[i]!])
const pretrain = { X: data.features.path, targets }
const seeds = Array.from({ length: Number(values.seeds) }, (_, i) => i)
const rows = await runPredictorHarness({
  entries: [
    { label: 'mlp (path)', predictor: mlp() },
    {
      label: 'mlp pretrained on params + FLOPs (path)',
      predictor: mlp({ pretrainEpochs: 10 }),
      fitOptions: { pretrain },
    },
  ],
  features: { path: data.features.path },
  defaultFeatures: 'path',
  y: data.y,
  trainSizes: values.sizes.split(',').map(Number),
  testSize: 1000,
  seeds,
  onResult: (r) => console.error(`${r.label} n=${r.n} seed=${r.seed} tau=${r.kendallTau.toFixed(3)}`),
})
const summary = summarizeHarness(rows).sort((a, b) => a.label.localeCompare(b.label) || a.n - b.n)
const table = formatHarnessTable(summary)
console.log(table)
if (!values.dry) {
  const file = fileURLToPath(new URL('../BENCHMARKS.md', import.meta.url))
  const text = existsSync(file) ? readFileSync(file, 'utf8') : '# @nasjs/predictors benchmarks\n'
  const body = [
    `Command: \`cd packages/predictors && nice -n 10 npx tsx --conditions=@nasjs/source bench/pretrain.ts --seeds ${seeds.length} --sizes ${values.sizes}\``,
    '',
    'Same protocol as the harness (NB201 CIFAR-10 validation accuracy, 1,000 test architectures per seed). The pretrained MLP first trains its hidden layers for 10 epochs, with a separate two-output head, to predict log params and log FLOPs of all 15,625 architectures (free statistics: no training needed), then fits the accuracies as usual (FBNetV3, Dai et al. 2021).',
    '',
    table,
  ].join('\n')
  writeFileSync(file, replaceSection(text, 'Pretraining on free statistics (FBNetV3)', body))
  console.error(`wrote ${file}`)
}
