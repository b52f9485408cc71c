// GraSP against a PyTorch reference, on the same weights and the same batch. For the first --cells
// cells of bench/suite-zero.ts's seeded sample (same initialisation, same batch of 64 Fashion-MNIST
// images, or Gaussian inputs with --data random), this writes the network's topology, its weights,
// the batch, the splits our passes used and our GraSP term per kernel under
// node_modules/.cache/nasjs/grasp-reference/; bench/grasp_reference.py then rebuilds each network
// in PyTorch, computes GraSP as NAS-Bench-Suite-Zero does (autograd twice, one pass of the whole
// batch) and compares, term by term.
// Run: cd packages/proxies && nice -n 10 npx tsx --conditions=@nasjs/source bench/grasp-reference.ts [--cells 8] [--data fashion-mnist|random]
//      /usr/bin/python3 bench/grasp_reference.py [--dir ../../node_modules/.cache/nasjs/grasp-reference/fashion-mnist]
import { mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { initBackend } from '@nasjs/backend'
import { loadNb201, loadNb201ZeroCost } from '@nasjs/benchmarks/node'
import { graspPerLayer, prunableWeights } from '../src/index.js'
import { passSplits } from '../src/common.js'
import { arg, suiteCell, suiteCells, suiteData } from './suite-cells.js'

const count = Number(arg('cells', '8'))
const dataName = arg('data', 'fashion-mnist')
const dir = join(process.cwd(), '../../node_modules/.cache/nasjs/grasp-reference', dataName)
await initBackend({ quiet: true })
const bench = loadNb201()
const suite = (loadNb201ZeroCost(bench, 'cifar10').columns as Record<string, Float64Array>).grasp!
const data = await suiteData(dataName)
// the same cells, weights and batches as bench/suite-zero.ts
for (const index of suiteCells(bench, count)) {
  const { model, batch } = suiteCell(bench, index, data, 64)
  const t0 = performance.now()
  const terms = graspPerLayer(model, batch)
  const seconds = (performance.now() - t0) / 1000
  const out = join(dir, `cell-${index}`)
  mkdirSync(out, { recursive: true })
  writeFileSync(join(out, 'model.json'), JSON.stringify(model.toJSON(null, false)))
  const manifest: { layer: string; name: string; shape: number[]; offset: number }[] = []
  const chunks: Float32Array[] = []
  let offset = 0
  for (const layer of model.layers) {
    for (const w of layer.weights) {
      const v = w.read().dataSync() as Float32Array
      manifest.push({ layer: layer.name, name: w.originalName, shape: w.shape as number[], offset })
      chunks.push(v)
      offset += v.length
    }
  }
  const all = new Float32Array(offset)
  let o = 0
  for (const c of chunks) {
    all.set(c, o)
    o += c.length
  }
  writeFileSync(join(out, 'weights.bin'), all)
  writeFileSync(join(out, 'x.bin'), batch.xs)
  writeFileSync(
    join(out, 'batch.json'),
    JSON.stringify({
      arch: bench.archStrAt(index),
      shape: [batch.n, ...batch.shape],
      labels: [...batch.ys!],
      splits: passSplits(model, batch).map((p) => p.n),
      weights: manifest,
      prunable: prunableWeights(model).map((w) => w.variable.name),
      ours: terms,
      suite: suite[index],
      testAcc: bench.column('cifar10', 'test_acc')[index],
      seconds,
    }),
  )
  console.error(
    `${bench.archStrAt(index)}: grasp ${terms.reduce((t, v) => t + v, 0).toFixed(4)} (${terms.length} kernels, ${seconds.toFixed(1)} s)`,
  )
  model.dispose()
}
