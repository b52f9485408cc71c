// Do nb101Cost, the built TF.js model and an independent PyTorch implementation (bench/nb101_torch.py,
// Debian's python3-torch) agree on the trainable parameters of NAS-Bench-101 networks? Samples random
// cells of the space (seeded), counts each network scaled down (--stem, default 16) and at the
// benchmark's full size (128-channel stem, 3 stacks of 3 cells, CIFAR-10), and prints a table.
// Full-size TF.js models are built for the first --full-builds cells (default: all); the README cell
// (2,694,282 trainable parameters in the benchmark) is checked at full size too.
// Run: cd packages/models && nice -n 19 npx tsx --conditions=@nasjs/source bench/nb101-params.ts [--archs 20] [--seed 0] [--stem 16] [--full-builds <archs>]
import { execFileSync } from 'node:child_process'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { initBackend } from '@nasjs/backend'
import { Rng } from '@nasjs/core'
import { nb101, type Nb101Arch } from '@nasjs/search-space'
import type * as tfl from '@tensorflow/tfjs-layers'
import { buildNb101, nb101Cost, Nb101NetworkOptions } from '../src/nb101.js'

const arg = (name: string, d: number) => {
  const i = process.argv.indexOf(`--${name}`)
  return i < 0 ? d : Number(process.argv[i + 1])
}
const count = arg('archs', 20)
const seed = arg('seed', 0)
const stem = arg('stem', 16)
const fullBuilds = arg('full-builds', count)
const here = dirname(fileURLToPath(import.meta.url))

const README_CELL = nb101.parse(
  JSON.stringify({
    matrix: [
      [0, 1, 1, 1, 0, 1, 0],
      [0, 0, 0, 0, 0, 0, 1],
      [0, 0, 0, 0, 0, 0, 1],
      [0, 0, 0, 0, 1, 0, 0],
      [0, 0, 0, 0, 0, 0, 1],
      [0, 0, 0, 0, 0, 0, 1],
      [0, 0, 0, 0, 0, 0, 0],
    ],
    ops: [
      'input',
      'conv1x1-bn-relu',
      'conv3x3-bn-relu',
      'conv3x3-bn-relu',
      'conv3x3-bn-relu',
      'maxpool3x3',
      'output',
    ],
  }),
)

const trainable = (m: tfl.LayersModel) =>
  m.trainableWeights.reduce((s, w) => s + w.shape.reduce<number>((p, d) => p * (d ?? 1), 1), 0)

/** Trainable weights of the built TF.js model, and the build time in ms. */
function built(arch: Nb101Arch, options: Nb101NetworkOptions): { params: number; ms: number } {
  const t0 = performance.now()
  const model = buildNb101(arch, options)
  const ms = performance.now() - t0
  const params = trainable(model)
  model.dispose()
  return { params, ms }
}

function torchParams(archs: Nb101Arch[], options: Nb101NetworkOptions, forward: boolean) {
  const o = Nb101NetworkOptions.parse(options)
  const out = execFileSync('/usr/bin/python3', [join(here, 'nb101_torch.py')], {
    input: JSON.stringify({ options: o, archs, forward }),
    encoding: 'utf8',
    maxBuffer: 1 << 24,
  })
  return JSON.parse(out) as { params: number[]; outputs: (number[] | null)[] }
}

const backend = await initBackend({ quiet: true })
const rng = new Rng(seed)
const archs = Array.from({ length: count }, () => nb101.sample(rng))
const small: Nb101NetworkOptions = { stemChannels: stem }
const full: Nb101NetworkOptions = {}

const t0 = performance.now()
const torchSmall = torchParams(archs, small, true)
const torchFull = torchParams([...archs, README_CELL], full, false)
const torchSeconds = (performance.now() - t0) / 1000

const short = { 'conv3x3-bn-relu': '3', 'conv1x1-bn-relu': '1', maxpool3x3: 'm' } as Record<string, string>
const rows = archs.map((arch, i) => {
  const edges = arch.matrix.flat().reduce((s, v) => s + v, 0)
  const s = built(arch, small)
  const f = i < fullBuilds ? built(arch, full) : undefined
  return {
    i,
    cell: `${arch.ops.length}v/${edges}e ${
      arch.ops
        .slice(1, -1)
        .map((op) => short[op])
        .join('') || '-'
    }`,
    costSmall: nb101Cost(arch, small).params,
    tfjsSmall: s.params,
    torchSmall: torchSmall.params[i]!,
    torchShape: torchSmall.outputs[i]?.join('x') ?? '',
    costFull: nb101Cost(arch, full).params,
    tfjsFull: f?.params,
    torchFull: torchFull.params[i]!,
    buildMsFull: f?.ms,
  }
})
const readme = {
  cost: nb101Cost(README_CELL, full).params,
  tfjs: built(README_CELL, full),
  torch: torchFull.params[count]!,
}

const pad = (v: string | number | undefined, n: number) => String(v ?? '').padStart(n)
console.log(
  `backend ${backend.name}; ${count} cells sampled with seed ${seed}; small = stem ${stem}, full = stem 128 (3 stacks of 3 cells, 32x32x3, 10 classes)`,
)
console.log(
  [
    pad('#', 3),
    'cell'.padEnd(16),
    pad('cost small', 11),
    pad('tfjs small', 11),
    pad('torch small', 12),
    pad('torch out', 9),
    pad('cost full', 11),
    pad('tfjs full', 11),
    pad('torch full', 11),
    pad('build ms', 9),
  ].join(' '),
)
for (const r of rows) {
  console.log(
    [
      pad(r.i, 3),
      r.cell.padEnd(16),
      pad(r.costSmall, 11),
      pad(r.tfjsSmall, 11),
      pad(r.torchSmall, 12),
      pad(r.torchShape, 9),
      pad(r.costFull, 11),
      pad(r.tfjsFull, 11),
      pad(r.torchFull, 11),
      pad(r.buildMsFull?.toFixed(0), 9),
    ].join(' '),
  )
}
console.log(
  `README cell, full size: nb101Cost ${readme.cost}, TF.js ${readme.tfjs.params} (built in ${readme.tfjs.ms.toFixed(0)} ms), PyTorch ${readme.torch}; the benchmark: 2694282`,
)
const equal =
  rows.every(
    (r) =>
      r.costSmall === r.tfjsSmall &&
      r.costSmall === r.torchSmall &&
      r.torchShape === '1x10' &&
      r.costFull === r.torchFull &&
      (r.tfjsFull === undefined || r.tfjsFull === r.costFull),
  ) &&
  readme.cost === 2_694_282 &&
  readme.tfjs.params === readme.cost &&
  readme.torch === readme.cost
console.log(
  `all equal: ${equal} (${count} cells x small and full size, ${Math.min(fullBuilds, count) + 1} full-size TF.js builds; PyTorch took ${torchSeconds.toFixed(1)} s)`,
)
if (!equal) process.exitCode = 1
