// Does our training match PyTorch's? The NB201 CIFAR-10-best cell, scaled down, trained on the same
// Fashion-MNIST examples with the same recipe by @nasjs/models (TF.js, this process's backend) and by
// PyTorch (bench/nb201_torch.py with Debian's python3-torch, one thread each), for several seeds.
// Run: cd packages/models && nice -n 10 npx tsx --conditions=@nasjs/source bench/pytorch-compare.ts [--seeds 3] [--train 10000] [--test 5000] [--epochs 5] [--channels 8] [--cells 1]
import { execFileSync } from 'node:child_process'
import { mkdirSync, writeFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { initBackend } from '@nasjs/backend'
import { nb201 } from '@nasjs/search-space'
import { buildModel, evaluate, modelCost, train } from '../src/index.js'
import { loadDataset } from '../src/node/index.js'

const arg = (name: string, d: number) => {
  const i = process.argv.indexOf(`--${name}`)
  return i < 0 ? d : Number(process.argv[i + 1])
}
const seeds = arg('seeds', 3)
const trainSize = arg('train', 10_000)
const testSize = arg('test', 5000)
const epochs = arg('epochs', 5)
const channels = arg('channels', 8)
const cells = arg('cells', 1)
const batchSize = 64
const lr = 0.05
const BEST = '|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_1x1~2|'
const here = dirname(fileURLToPath(import.meta.url))
const cache = join(here, '..', '..', '..', 'node_modules', '.cache', 'nasjs')
mkdirSync(cache, { recursive: true })

const backend = await initBackend({ quiet: true })
const rows: Record<string, number>[] = []
for (let seed = 0; seed < seeds; seed++) {
  const data = await loadDataset('fashion-mnist', { train: trainSize, valid: 1000, test: testSize, seed })
  // the same standardised examples for PyTorch: header, then train x, y, test x, y (little-endian)
  const [h, w, c] = data.train.shape as [number, number, number]
  const head = new Int32Array([h, w, c, data.train.classes, data.train.y.length, data.test.y.length])
  const file = join(cache, `fmnist-compare-${seed}.bin`)
  writeFileSync(
    file,
    Buffer.concat(
      [head, data.train.x, data.train.y, data.test.x, data.test.y].map((a) =>
        Buffer.from(a.buffer, a.byteOffset, a.byteLength),
      ),
    ),
  )
  const arch = nb201.parse(BEST)
  const model = buildModel(nb201, arch, { channels, cellsPerStage: cells, inputShape: [h, w, c], seed })
  const r = await train(model, data.train, { optimizer: 'sgd', lr, epochs, batchSize, seed })
  const ours = 100 * evaluate(model, data.test).acc
  model.dispose()
  const torch = JSON.parse(
    execFileSync(
      '/usr/bin/python3',
      [
        join(here, 'nb201_torch.py'),
        file,
        BEST,
        `${channels}`,
        `${cells}`,
        `${epochs}`,
        `${batchSize}`,
        `${lr}`,
        `${seed}`,
      ],
      {
        encoding: 'utf8',
      },
    ),
  ) as { test_acc: number; images_per_s: number; params: number }
  const row = {
    seed,
    nasjs_test_acc: ours,
    torch_test_acc: torch.test_acc,
    nasjs_images_per_s: r.imagesPerSecond,
    torch_images_per_s: torch.images_per_s,
    nasjs_params: modelCost(nb201, arch, { channels, cellsPerStage: cells, inputShape: [h, w, c] }).params,
    torch_params: torch.params,
  }
  rows.push(row)
  console.error(JSON.stringify(row))
}
const mean = (k: string) => rows.reduce((s, r) => s + r[k]!, 0) / rows.length
const median = (k: string) => {
  const v = rows.map((r) => r[k]!).sort((a, b) => a - b)
  return v.length % 2 ? v[(v.length - 1) / 2]! : (v[v.length / 2 - 1]! + v[v.length / 2]!) / 2
}
console.log(
  JSON.stringify({
    backend: backend.name,
    arch: BEST,
    channels,
    cells,
    trainSize,
    testSize,
    epochs,
    seeds,
    nasjs_mean_test_acc: mean('nasjs_test_acc'),
    torch_mean_test_acc: mean('torch_test_acc'),
    difference_points: mean('nasjs_test_acc') - mean('torch_test_acc'),
    images_per_s_ratio_nasjs_over_torch: median('nasjs_images_per_s') / median('torch_images_per_s'),
    rows,
  }),
)
