// Do vitCost / transformerCost, the built TF.js models and an independent PyTorch implementation
// (bench/vit_torch.py, Debian's python3-torch) agree? For --n seeded random architectures of each of
// the `vit` space (default options: 32x32x3 input, 10 classes) and the `transformer` space (vocabulary
// 1,000, 64 tokens, 2 classes, mean pooling and class-token pooling alternating): the analytic
// parameters, the trainable weights of the built TF.js model and the PyTorch parameters must be equal,
// and the analytic FLOPs must equal those PyTorch counts during a forward pass.
// Then, for --outputs networks of each space (a fixed one with every attention kind of the
// transformer space, the others random ones of under 6 M parameters), every TF.js weight is moved by
// N(0, 0.05) noise, the weights are loaded into the PyTorch network and both give logits for a batch
// of 2 random inputs: the largest difference, relative to the largest logit, must be below 1e-4.
// Run: cd packages/models && nice -n 19 npx tsx --conditions=@nasjs/source bench/vit-params.ts [--n 20] [--outputs 4] [--seed 0]
import { execFileSync } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { initBackend } from '@nasjs/backend'
import { Rng } from '@nasjs/core'
import { transformer, vit } from '@nasjs/search-space'
import * as tf from '@tensorflow/tfjs-core'
import type * as tfl from '@tensorflow/tfjs-layers'
import { buildTransformer, buildVit, transformerCost, vitCost } from '../src/vit.js'

const arg = (name: string, d: number) => {
  const i = process.argv.indexOf(`--${name}`)
  return i < 0 ? d : Number(process.argv[i + 1])
}
const n = arg('n', 20)
const seed = arg('seed', 0)
const outputs = arg('outputs', 4)
const here = dirname(fileURLToPath(import.meta.url))

const trainable = (m: tfl.LayersModel) =>
  m.trainableWeights.reduce((s, w) => s + w.shape.reduce<number>((p, d) => p * (d ?? 1), 1), 0)

interface Row {
  space: string
  arch: string
  analytic: { params: number; flops: number }
  built: number
  job: Record<string, unknown>
}

const backend = await initBackend({ quiet: true })
const rng = new Rng(seed)
const rows: Row[] = []
for (let i = 0; i < n; i++) {
  const arch = vit.sample(rng)
  const options = { inputShape: [32, 32, 3] as [number, number, number], classes: 10 }
  const m = buildVit(arch, options)
  rows.push({
    space: 'vit',
    arch: vit.format(arch),
    analytic: vitCost(arch, options),
    built: trainable(m),
    job: { space: 'vit', arch, ...options },
  })
  m.dispose()
}
for (let i = 0; i < n; i++) {
  const arch = transformer.sample(rng)
  const options = {
    vocabSize: 1000,
    sequenceLength: 64,
    classes: 2,
    pooling: i % 2 ? 'cls' : 'mean',
  } as const
  const m = buildTransformer(arch, options)
  rows.push({
    space: 'transformer',
    arch: transformer.format(arch),
    analytic: transformerCost(arch, options),
    built: trainable(m),
    job: { space: 'transformer', arch, ...options },
  })
  m.dispose()
}
const runTorch = (jobs: Record<string, unknown>[]) =>
  JSON.parse(
    execFileSync('/usr/bin/python3', [join(here, 'vit_torch.py')], {
      input: JSON.stringify(jobs),
      encoding: 'utf8',
      maxBuffer: 1 << 26,
    }),
  ) as { params: number; flops: number; logits?: number[] }[]
const torch = runTorch(rows.map((r) => r.job))

let allEqual = true
console.log(`backend ${backend.name}; ${n} architectures per space, seed ${seed}`)
console.log(
  'space        params(analytic)   TF.js built    PyTorch   | FLOPs(analytic)   PyTorch      eq  arch',
)
rows.forEach((r, i) => {
  const t = torch[i]!
  const eq = r.analytic.params === r.built && r.built === t.params && r.analytic.flops === t.flops
  allEqual &&= eq
  console.log(
    `${r.space.padEnd(12)} ${String(r.analytic.params).padStart(14)} ${String(r.built).padStart(13)} ${String(t.params).padStart(10)}   | ${String(r.analytic.flops).padStart(15)} ${String(t.flops).padStart(13)}  ${eq ? 'y' : 'N'}   ${r.arch}`,
  )
})
console.log(`all equal: ${allEqual}`)

// outputs: TF.js weights (moved by noise) loaded into PyTorch, logits on the same inputs
const tmp = mkdtempSync(join(tmpdir(), 'nasjs-vit-'))
const outRng = new Rng(seed + 1)
const checks: { name: string; model: tfl.LayersModel; job: Record<string, unknown>; x: tf.Tensor }[] = []
const vitOptions = { inputShape: [16, 16, 3] as [number, number, number], classes: 10 }
const textOptions = { vocabSize: 1000, sequenceLength: 64, classes: 2 }
const fixedText = transformer.parse(
  'h128/sa:2:wma/ff512 | h256/l:2:dft/ff512,512 | h128/c:4:5/ff512 | h128/sa:8:sdp/ff512 | h128/l:4:dct/ff512,1024,512',
)
for (let i = 0; i < outputs; i++) {
  let va = vit.parse('d2-e64-h2-r3.5-p4 | d1-e96-h12-r2-p2')
  if (i > 0)
    do va = vit.sample(outRng)
    while (vitCost(va, vitOptions).params > 6e6)
  checks.push({
    name: `vit ${vit.format(va)}`,
    model: buildVit(va, vitOptions),
    job: { space: 'vit', arch: va, ...vitOptions },
    x: tf.randomNormal([2, 16, 16, 3], 0, 1, 'float32', i),
  })
  const pooling = i % 2 ? 'mean' : 'cls'
  let ta = fixedText
  if (i > 0)
    do ta = transformer.sample(outRng)
    while (transformerCost(ta, { ...textOptions, pooling }).params > 6e6)
  checks.push({
    name: `transformer ${pooling} ${transformer.format(ta)}`,
    model: buildTransformer(ta, { ...textOptions, pooling }),
    job: { space: 'transformer', arch: ta, ...textOptions, pooling },
    x: tf.floor(tf.randomUniform([2, 64], 0, 1000, 'float32', i)),
  })
}
const tfLogits = checks.map((c, i) => {
  const noisy = c.model
    .getWeights()
    .map((w, j) => tf.add(w, tf.randomNormal(w.shape, 0, 0.05, 'float32', 100 * i + j)))
  c.model.setWeights(noisy)
  const flat = new Float32Array(noisy.reduce((s, w) => s + w.size, 0))
  let at = 0
  for (const w of noisy) {
    flat.set(w.dataSync(), at)
    at += w.size
  }
  tf.dispose(noisy)
  c.job.weights = join(tmp, `w${i}.bin`)
  c.job.input = join(tmp, `x${i}.bin`)
  c.job.batch = 2
  writeFileSync(c.job.weights as string, Buffer.from(flat.buffer))
  writeFileSync(c.job.input as string, Buffer.from((c.x.dataSync() as Float32Array).slice().buffer))
  const y = c.model.predict(c.x) as tf.Tensor
  const v = Array.from(y.dataSync())
  tf.dispose([y, c.x])
  c.model.dispose()
  return v
})
const torchOut = runTorch(checks.map((c) => c.job))
rmSync(tmp, { recursive: true })
let outputsClose = true
console.log('\nlogits, TF.js weights in PyTorch: max |diff| / max |logit|')
checks.forEach((c, i) => {
  const a = tfLogits[i]!
  const b = torchOut[i]!.logits!
  const scale = Math.max(...a.map(Math.abs))
  const rel = Math.max(...a.map((v, j) => Math.abs(v - b[j]!))) / scale
  outputsClose &&= rel < 1e-4
  console.log(`${rel.toExponential(2).padStart(9)}  ${c.name}`)
})
console.log(`all equal: ${allEqual}; outputs close: ${outputsClose}`)
if (!allEqual || !outputsClose) process.exitCode = 1
