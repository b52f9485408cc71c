// Sample + hash + encode throughput of every built-in space, one core.
// Run: pnpm --filter @nasjs/search-space bench   (or: npx tsx --conditions=@nasjs/source bench/throughput.ts)
// Prints a Markdown table: median over 9 rounds, each round a batch of fresh architectures.
import { Rng } from '@nasjs/core'
import { builtinSpaces, nb201, type SearchSpace } from '../src/index.js'

const ROUNDS = 9
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!

function measure(space: SearchSpace<unknown>, batch: number, work: (a: unknown, rng: Rng) => number): number {
  const rng = new Rng(42)
  let sink = 0
  for (let i = 0; i < Math.min(batch, 2000); i++) sink += work(space.sample(rng), rng) // warm-up
  const rates: number[] = []
  for (let r = 0; r < ROUNDS; r++) {
    const t0 = performance.now()
    for (let i = 0; i < batch; i++) sink += work(space.sample(rng), rng)
    rates.push(batch / ((performance.now() - t0) / 1000))
  }
  if (sink === -1) console.log(sink)
  return median(rates)
}

const fmt = (x: number) => Math.round(x).toLocaleString('en-US')
console.log(`node ${process.version}, ${ROUNDS} rounds, median architectures per second\n`)
console.log(
  '| space | batch | sample | sample + hash + encode (one-hot) | sample + mutate | neighbours / arch |',
)
console.log('|---|---:|---:|---:|---:|---:|')
for (const space of builtinSpaces) {
  const batch = space.id === 'nb201' ? 200_000 : space.id === 'nb101' ? 5_000 : 20_000
  const s = measure(space, batch, () => 1)
  const she = measure(space, batch, (a) => space.hash(a).length + space.encode(a, 'onehot').length)
  const sm = measure(space, batch, (a, rng) => (space.mutate(a, rng) === a ? 0 : 1))
  const nn = space.neighbors(space.sample(new Rng(1))).length
  console.log(`| ${space.id} | ${fmt(batch)} | ${fmt(s)} | ${fmt(she)} | ${fmt(sm)} | ${nn} |`)
}
const enc = (kind: 'adjacency' | 'path') =>
  measure(
    nb201 as SearchSpace<unknown>,
    200_000,
    (a) => nb201.hash(a as never).length + nb201.encode(a as never, kind).length,
  )
console.log(
  `\nnb201 sample + hash + encode: adjacency ${fmt(enc('adjacency'))}/s, path ${fmt(enc('path'))}/s`,
)
