/**
 * FLIQS-style one-shot format search against uniform precision at the same training budget. One
 * NB201 network is trained on Fashion-MNIST; then, each from those trained weights and for the same
 * number of steps:
 *   - quantization-aware fine-tuning in uniform int4 and in uniform int8 (`quantizationAwareTraining`);
 *   - `fliqsSearch` between int4 and int8 at cost targets (bytes, as a share of the int8 network's);
 * and every result's test accuracy after quantization and its weight bytes. Also the post-training
 * quantization (no fine-tuning) of the trained network in int4 and int8.
 *
 *   cd packages/quantization && npx tsx --conditions=@nasjs/source bench/fliqs-fmnist.ts
 *     [--channels 16] [--cells 2] [--train 5000] [--valid 1000] [--epochs 3] [--steps 300]
 *     [--targets 0.6,0.75,0.9] [--json]
 */
import { parseArgs } from 'node:util'
import { evaluateLogits, type Dataset } from '@nasjs/models'
import type * as tf from '@tensorflow/tfjs-core'
import {
  fliqsSearch,
  networkQuantLayers,
  quantCosts,
  quantizationAwareTraining,
  quantizeNetwork,
  type QuantizedNetwork,
} from '../src/index.js'
import { trainedNb201 } from './fmnist-nb201.js'

const { values } = parseArgs({
  options: {
    channels: { type: 'string', default: '16' },
    cells: { type: 'string', default: '2' },
    train: { type: 'string', default: '5000' },
    valid: { type: 'string', default: '1000' },
    test: { type: 'string', default: '5000' },
    epochs: { type: 'string', default: '3' },
    steps: { type: 'string', default: '300' },
    targets: { type: 'string', default: '0.6,0.75,0.9' },
    json: { type: 'boolean', default: false },
  },
})
const log = (s: string) => process.stderr.write(`${s}\n`)
const { data, model, build } = await trainedNb201({
  channels: Number(values.channels),
  cells: Number(values.cells),
  train: Number(values.train),
  valid: Number(values.valid),
  test: Number(values.test),
  epochs: Number(values.epochs),
})
const trained = model.getWeights().map((w) => w.clone())
const fresh = () => {
  const m = build()
  m.setWeights(trained)
  return m
}
const layers = networkQuantLayers(model)
const int8Bytes = quantCosts(
  layers,
  layers.map(() => ({ weights: 'int8', activations: 'int8' })),
).bytes
const testAcc = (q: QuantizedNetwork, d: Dataset = data.test) =>
  100 * evaluateLogits(d, (x) => q.predict(x) as tf.Tensor2D).acc
const steps = Number(values.steps)
const rows: { method: string; bytes: number; share: number; test_acc: number; minutes: number }[] = []
const row = (method: string, q: QuantizedNetwork, bytes: number, start: number) => {
  rows.push({
    method,
    bytes,
    share: bytes / int8Bytes,
    test_acc: testAcc(q),
    minutes: (performance.now() - start) / 60_000,
  })
  log(
    `${method}: ${rows.at(-1)!.test_acc.toFixed(2)} % at ${((100 * bytes) / int8Bytes).toFixed(1)} % of int8 bytes`,
  )
}
for (const fmt of ['int8', 'int4']) {
  const start = performance.now()
  const policy = layers.map(() => ({ weights: fmt, activations: fmt }))
  const q = quantizeNetwork(model, data.train, { layers: policy })
  row(`PTQ ${fmt}`, q, quantCosts(layers, policy).bytes, start)
  q.dispose()
}
for (const fmt of ['int8', 'int4']) {
  const start = performance.now()
  const m = fresh()
  const policy = layers.map(() => ({ weights: fmt, activations: fmt }))
  const r = await quantizationAwareTraining(m, data.train, { layers: policy, steps, epochs: 100 })
  row(`QAT ${fmt}, ${steps} steps`, r.network, quantCosts(layers, policy).bytes, start)
  r.network.dispose()
  m.dispose()
}
for (const target of values.targets.split(',').map(Number)) {
  const start = performance.now()
  const m = fresh()
  const r = await fliqsSearch(
    m,
    { train: data.train, valid: data.valid },
    { formats: ['int4', 'int8'], target, steps },
  )
  const int8 = r.policy.filter((p) => p.weights === 'int8').length
  row(`FLIQS target ${target} (${int8}/${r.policy.length} layers int8)`, r.network, r.cost, start)
  r.network.dispose()
  m.dispose()
}
if (values.json) process.stdout.write(`${JSON.stringify({ int8Bytes, rows })}\n`)
else {
  process.stdout.write(
    `int8 weights: ${int8Bytes.toLocaleString('en')} bytes; ${layers.length} quantizable layers\n\n`,
  )
  process.stdout.write(
    '| method | weight bytes | share of int8 | test accuracy (%) | minutes |\n| --- | --- | --- | --- | --- |\n',
  )
  for (const r of rows)
    process.stdout.write(
      `| ${r.method} | ${r.bytes.toLocaleString('en')} | ${(100 * r.share).toFixed(1)} % | ${r.test_acc.toFixed(2)} | ${r.minutes.toFixed(1)} |\n`,
    )
}
