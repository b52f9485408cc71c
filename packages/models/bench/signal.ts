// Is training on Fashion-MNIST a meaningful signal? N random NB201 cells (seeded), each the
// scaled-down network trained briefly; Kendall tau between our validation accuracy and the
// benchmark's CIFAR-10 test accuracy (200 epochs).
// Run: cd packages/models && nice -n 10 npx tsx --conditions=@nasjs/source bench/signal.ts [--cells 30] [--train 5000] [--epochs 2] [--channels 8] [--valid 1000]
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { gunzipSync } from 'node:zlib'
import { dataDir } from '@nasjs/benchmark-data/node'
import { initBackend } from '@nasjs/backend'
import { Rng, kendallTau, spearmanRho } from '@nasjs/core'
import { nb201 } from '@nasjs/search-space'
import { buildModel, evaluate, train } from '../src/index.js'
import { loadDataset } from '../src/node/index.js'

const arg = (name: string, d: number) => {
  const i = process.argv.indexOf(`--${name}`)
  return i < 0 ? d : Number(process.argv[i + 1])
}
const cells = arg('cells', 30)
const trainSize = arg('train', 5000)
const epochs = arg('epochs', 2)
const channels = arg('channels', 8)
const validSize = arg('valid', 1000)
const backend = await initBackend({ quiet: true })

const table = new Map<string, number>()
const lines = gunzipSync(readFileSync(join(dataDir(), 'nb201/nb201_master.csv.gz')))
  .toString('utf8')
  .trim()
  .split('\n')
const header = lines[0]!.split(',')
const archCol = header.indexOf('arch_str')
for (const line of lines.slice(1)) {
  // arch_str has no commas and comes before the quoted tuple; test_acc_cifar10 is the first column after the tuple
  const arch = line.split(',')[archCol]!
  const after = line.slice(line.indexOf(')"') + 3).split(',')
  table.set(arch, Number(after[0]))
}

const data = await loadDataset('fashion-mnist', { train: trainSize, valid: validSize, seed: 0 })
const rng = new Rng(2026)
const ours: number[] = []
const theirs: number[] = []
const t0 = performance.now()
for (let i = 0; i < cells; i++) {
  const arch = nb201.sample(rng)
  const text = nb201.format(arch)
  const model = buildModel(nb201, arch, { channels, cellsPerStage: 1, inputShape: [28, 28, 1], seed: i })
  const r = await train(model, data.train, { optimizer: 'sgd', lr: 0.05, epochs, batchSize: 64, seed: i })
  const acc = r.status === 'complete' ? evaluate(model, data.valid).acc : NaN
  model.dispose()
  ours.push(acc)
  theirs.push(table.get(text)!)
  console.error(
    `${i + 1}/${cells} ${text} ours ${(100 * acc).toFixed(2)} % cifar10 ${table.get(text)} (${r.imagesPerSecond.toFixed(0)} images/s)`,
  )
}
const ok = ours.map((v, i) => [v, theirs[i]!] as const).filter(([v]) => Number.isFinite(v))
console.log(
  JSON.stringify({
    backend: backend.name,
    cells,
    trainSize,
    epochs,
    channels,
    validSize,
    kendallTau: kendallTau(
      ok.map((p) => p[0]),
      ok.map((p) => p[1]),
    ),
    spearman: spearmanRho(
      ok.map((p) => p[0]),
      ok.map((p) => p[1]),
    ),
    minutes: (performance.now() - t0) / 60000,
  }),
)
