/**
 * Int8 post-training quantization of the 100 NB201 networks of NATS-Bench-MCU, trained by us on
 * Fashion-MNIST (scaled down): our FP32-to-INT8 accuracy drops beside the table's (CIFAR-10, full
 * networks, TFLite full-integer INT8), and whether the same architectures "crater" (chance accuracy).
 *
 *   cd packages/quantization && npx tsx --conditions=@nasjs/source bench/nats-mcu.ts --out /tmp/mcu
 *     [--train 5000] [--valid 1000] [--epochs 2] [--channels 8] [--calibration 256] [--limit 100]
 *
 * Each network: the NB201 skeleton with `--channels` channels and one cell per stage on 28x28x1,
 * trained `--epochs` epochs (SGD, lr 0.05, batch 64, seeded by the architecture index) on `--train`
 * Fashion-MNIST images; accuracy on `--valid` held-out images in float32, then after
 * `quantizeNetwork` (int8 per-channel symmetric weights with every BatchNorm after a convolution
 * folded, int8 asymmetric per-tensor activations, min-max ranges from `--calibration` training
 * images). Results are appended to <out>/results.jsonl one line per network, so a stopped run
 * resumes; the summary is printed at the end.
 */
import { appendFileSync, existsSync, mkdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { initBackend } from '@nasjs/backend'
import { spearmanRho } from '@nasjs/core'
import { loadQuantizationTable } from '@nasjs/benchmarks/node'
import { buildModel, evaluate, evaluateLogits, train } from '@nasjs/models'
import { loadDataset } from '@nasjs/models/node'
import { nb201 } from '@nasjs/search-space'
import * as tf from '@tensorflow/tfjs-core'
import { quantizeNetwork } from '../src/index.js'

const { values } = parseArgs({
  options: {
    out: { type: 'string', default: '/tmp/mcu' },
    train: { type: 'string', default: '5000' },
    valid: { type: 'string', default: '1000' },
    epochs: { type: 'string', default: '2' },
    channels: { type: 'string', default: '8' },
    calibration: { type: 'string', default: '256' },
    limit: { type: 'string', default: '100' },
  },
})
mkdirSync(values.out, { recursive: true })
const file = join(values.out, 'results.jsonl')
interface Row {
  index: number
  arch: string
  fp32: number
  int8: number
  drop: number
  tableFp32: number
  tableInt8: number
  tableDrop: number
  tableCratered: boolean
  seconds: number
}
const done = new Map<number, Row>()
if (existsSync(file))
  for (const line of readFileSync(file, 'utf8').split('\n').filter(Boolean)) {
    const r = JSON.parse(line) as Row
    done.set(r.index, r)
  }
const backend = await initBackend({ quiet: true })
const table = loadQuantizationTable()
const data = await loadDataset('fashion-mnist', {
  train: Number(values.train),
  valid: Number(values.valid),
  seed: 0,
})
const nCal = Number(values.calibration)
const calibration = tf.tensor4d(data.train.x.subarray(0, nCal * 28 * 28), [nCal, 28, 28, 1])
const records = table.records.slice(0, Number(values.limit))
for (const [i, rec] of records.entries()) {
  if (done.has(rec.index)) continue
  const t0 = performance.now()
  const model = buildModel(nb201, rec.arch, {
    channels: Number(values.channels),
    cellsPerStage: 1,
    inputShape: [28, 28, 1],
    seed: rec.index,
  })
  const r = await train(model, data.train, {
    optimizer: 'sgd',
    lr: 0.05,
    epochs: Number(values.epochs),
    batchSize: 64,
    seed: rec.index,
  })
  const fp32 = r.status === 'complete' ? evaluate(model, data.valid).acc : Number.NaN
  const q = quantizeNetwork(model, calibration)
  const int8 = evaluateLogits(data.valid, (x) => q.predict(x) as tf.Tensor2D).acc
  q.dispose()
  model.dispose()
  const row: Row = {
    index: rec.index,
    arch: rec.archStr,
    fp32: 100 * fp32,
    int8: 100 * int8,
    drop: 100 * (fp32 - int8),
    tableFp32: rec.fp32Acc,
    tableInt8: rec.int8Acc,
    tableDrop: rec.deltaPp,
    tableCratered: rec.cratered,
    seconds: (performance.now() - t0) / 1000,
  }
  appendFileSync(file, `${JSON.stringify(row)}\n`)
  done.set(rec.index, row)
  process.stderr.write(
    `${i + 1}/${records.length} ${rec.archStr}: fp32 ${row.fp32.toFixed(2)} int8 ${row.int8.toFixed(2)} drop ${row.drop.toFixed(2)} (table ${row.tableDrop.toFixed(2)}) ${row.seconds.toFixed(0)} s\n`,
  )
}
calibration.dispose()

const rows = records.map((r) => done.get(r.index)!).filter((r) => r !== undefined)
const quantiles = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b)
  const q = (p: number) => s[Math.min(s.length - 1, Math.max(0, Math.round(p * (s.length - 1))))]!
  return {
    min: s[0]!,
    p10: q(0.1),
    median: q(0.5),
    p90: q(0.9),
    max: s.at(-1)!,
    mean: s.reduce((a, b) => a + b, 0) / s.length,
  }
}
const chance = (acc: number) => acc <= 15
const fmt = (o: Record<string, number>) =>
  Object.entries(o)
    .map(([k, v]) => `${k} ${v.toFixed(2)}`)
    .join(', ')
console.log(`backend ${backend.name}; ${rows.length} networks`)
console.log(`our drop (pts): ${fmt(quantiles(rows.map((r) => r.drop)))}`)
console.log(`table drop (pts): ${fmt(quantiles(rows.map((r) => r.tableDrop)))}`)
console.log(
  `Spearman of the drops: ${spearmanRho(
    rows.map((r) => r.drop),
    rows.map((r) => r.tableDrop),
  ).toFixed(3)}`,
)
console.log(
  `Spearman of the FP32 accuracies: ${spearmanRho(
    rows.map((r) => r.fp32),
    rows.map((r) => r.tableFp32),
  ).toFixed(3)}`,
)
const ourCrater = rows.filter((r) => chance(r.int8)).map((r) => r.index)
const tableCrater = rows.filter((r) => r.tableCratered).map((r) => r.index)
console.log(
  `cratered (int8 at chance, <= 15 %): ours [${ourCrater.join(', ')}], the table's [${tableCrater.join(', ')}]`,
)
const big = rows.filter((r) => !chance(r.fp32) && r.drop > 5)
console.log(
  `drops over 5 pts among networks that trained: ${big.map((r) => `${r.index} ${r.drop.toFixed(2)}`).join('; ') || 'none'}`,
)
console.log(`minutes: ${(rows.reduce((s, r) => s + r.seconds, 0) / 60).toFixed(1)}`)
