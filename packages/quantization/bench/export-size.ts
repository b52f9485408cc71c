/**
 * A trained network exported with TF.js weight quantization: the files' sizes (model.json +
 * weights.bin) in float32, float16, uint16 and uint8, and the held-out accuracy of each as plain TF.js
 * loads it back (it dequantizes the weights itself).
 *
 *   cd packages/quantization && npx tsx --conditions=@nasjs/source bench/export-size.ts
 *     [--channels 16] [--cells 5] [--train 5000] [--valid 1000] [--epochs 2] [--out /tmp/export-size]
 *
 * The network is the NB201 skeleton on Fashion-MNIST (28x28x1) with the cell below, trained with
 * SGD (lr 0.05, batch 64, seed 1).
 */
import { readFileSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { evaluate } from '@nasjs/models'
import { loadSavedModel, saveModel } from '@nasjs/models/node'
import { nb201 } from '@nasjs/search-space'
import { quantizeArtifacts } from '../src/index.js'
import { BENCH_CELL, trainedNb201 } from './fmnist-nb201.js'

const { values } = parseArgs({
  options: {
    channels: { type: 'string', default: '16' },
    cells: { type: 'string', default: '5' },
    train: { type: 'string', default: '5000' },
    valid: { type: 'string', default: '1000' },
    epochs: { type: 'string', default: '2' },
    out: { type: 'string', default: '/tmp/export-size' },
  },
})
const { backend, data, model } = await trainedNb201({
  channels: Number(values.channels),
  cells: Number(values.cells),
  train: Number(values.train),
  valid: Number(values.valid),
  epochs: Number(values.epochs),
})
const cell = BENCH_CELL
const size = (dir: string) =>
  ['model.json', 'weights.bin'].reduce((s, f) => s + statSync(join(dir, f)).size, 0)
const rows: string[] = []
let base = 0
let baseAcc = 0
for (const dtype of ['float32', 'float16', 'uint16', 'uint8'] as const) {
  const dir = join(values.out, dtype)
  await saveModel(
    model,
    dir,
    { space: 'nb201', arch: nb201.format(cell) },
    dtype === 'float32' ? {} : { transform: (a) => quantizeArtifacts(a, dtype) },
  )
  const bytes = size(dir)
  const json = readFileSync(join(dir, 'model.json')).length
  const loaded = await loadSavedModel(dir)
  const acc = 100 * evaluate(loaded, data.valid).acc
  loaded.dispose()
  if (dtype === 'float32') {
    base = bytes
    baseAcc = acc
  }
  rows.push(
    `| ${dtype} | ${bytes.toLocaleString('en')} | ${json.toLocaleString('en')} | ${((100 * bytes) / base).toFixed(1)} % | ${acc.toFixed(2)} | ${(acc - baseAcc).toFixed(2)} |`,
  )
}
console.log(`params ${model.countParams().toLocaleString('en')}; backend ${backend.name}`)
console.log(
  '| weights | model.json + weights.bin (bytes) | of which model.json | of float32 | held-out accuracy (%) | change (pts) |',
)
console.log('| --- | --: | --: | --: | --: | --: |')
for (const r of rows) console.log(r)
model.dispose()
