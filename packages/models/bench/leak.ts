// No tensor or wasm-heap growth over many trials of the training evaluator: N random NB201 cells
// (tiny networks on the 8x8 digits, one epoch each), memory read before, after a warm-up of 5
// trials, and at the end.
// Run: cd packages/models && nice -n 10 npx tsx --conditions=@nasjs/source bench/leak.ts [--trials 100]
import { initBackend, memorySnapshot } from '@nasjs/backend'
import { Rng } from '@nasjs/core'
import { nb201 } from '@nasjs/search-space'
import { trainingEvaluator } from '../src/index.js'
import { loadDataset } from '../src/node/index.js'

const i = process.argv.indexOf('--trials')
const trials = i < 0 ? 100 : Number(process.argv[i + 1])
const backend = await initBackend({ quiet: true })
const data = await loadDataset('digits', { seed: 0, train: 200, valid: 100, test: 100 })
const evaluator = trainingEvaluator({
  space: nb201,
  data,
  network: { channels: 3, cellsPerStage: 1 },
  train: { epochs: 1, batchSize: 50 },
})
const rng = new Rng(7)
const signal = new AbortController().signal
const run = async (n: number, from: number) => {
  for (let t = 0; t < n; t++) await evaluator(nb201.sample(rng), { signal, report: () => {}, seed: from + t })
}
const before = memorySnapshot()
await run(5, 0)
const warm = memorySnapshot()
const t0 = performance.now()
await run(trials, 5)
const end = memorySnapshot()
console.log(
  JSON.stringify({
    backend: backend.name,
    trials,
    seconds: (performance.now() - t0) / 1000,
    before,
    afterWarmup: warm,
    end,
    tensorGrowth: end.numTensors - warm.numTensors,
    wasmHeapGrowthBytes: (end.wasmHeapBytes ?? 0) - (warm.wasmHeapBytes ?? 0),
  }),
)
