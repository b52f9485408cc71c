// No tensor or wasm-heap growth over many architectures scored by every proxy: N random NB201 cells
// (small networks on 8x8 digits, a batch of 16), through proxyEvaluator, memory read before, after a
// warm-up of 5 cells, and at the end.
// Run: cd packages/proxies && nice -n 10 npx tsx --conditions=@nasjs/source bench/leak.ts [--archs 100]
import { initBackend, memorySnapshot } from '@nasjs/backend'
import { Rng } from '@nasjs/core'
import { loadDataset } from '@nasjs/models/node'
import { nb201 } from '@nasjs/search-space'
import { proxyEvaluator } from '../src/index.js'

const i = process.argv.indexOf('--archs')
const archs = i < 0 ? 100 : Number(process.argv[i + 1])
const backend = await initBackend({ quiet: true })
const data = (await loadDataset('digits', { seed: 0, train: 200 })).train
const { evaluator } = proxyEvaluator({
  space: nb201,
  proxies: 'all',
  network: { channels: 4, cellsPerStage: 1, inputShape: [8, 8, 1] },
  data,
  batchSize: 16,
})
const rng = new Rng(7)
const signal = new AbortController().signal
let failed = 0
const run = async (n: number) => {
  for (let t = 0; t < n; t++) {
    // a cell with no path from input to output has no score: a failed trial, and no leak either
    await evaluator(nb201.sample(rng), { signal, report: () => {} }).catch(() => failed++)
  }
}
const before = memorySnapshot()
await run(5)
const warm = memorySnapshot()
const t0 = performance.now()
// the wasm heap is a high-water mark (it grows for the largest network so far and never shrinks):
// its size after every 10 architectures shows whether it keeps growing
const heapEvery10: number[] = []
for (let done = 0; done < archs; done += 10) {
  await run(Math.min(10, archs - done))
  heapEvery10.push(memorySnapshot().wasmHeapBytes ?? 0)
}
const end = memorySnapshot()
console.log(
  JSON.stringify({
    backend: backend.name,
    archs,
    failed,
    seconds: (performance.now() - t0) / 1000,
    before,
    afterWarmup: warm,
    end,
    tensorGrowth: end.numTensors - warm.numTensors,
    wasmHeapGrowthBytes: (end.wasmHeapBytes ?? 0) - (warm.wasmHeapBytes ?? 0),
    heapEvery10,
  }),
)
