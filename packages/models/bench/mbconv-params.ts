// Do the OFA-MobileNetV3 and FBNet builders count what PyTorch counts? For 20 seeded random
// architectures of each space: the analytic count (ofaMbv3Cost / fbnetCost), the trainable weights of
// the built TF.js model, and bench/mbconv_torch.py (our PyTorch implementation, Debian's python3-torch)
// at the architecture's resolution with 1,000 classes (ofa-mbv3 alternating width 1.0 and 1.2; fbnet
// alternating the ImageNet and CIFAR settings). Parameters must be equal three ways and FLOPs two ways.
// For the first --outputs architectures of each space, the TF.js weights (BatchNorm statistics, scales
// and biases randomised too) are also loaded into the PyTorch network and both give logits for one
// random image, in inference mode: their largest difference, relative to the largest logit, must be
// below 1e-4.
// Run: cd packages/models && nice -n 19 npx tsx --conditions=@nasjs/source bench/mbconv-params.ts [--n 20] [--outputs 4] [--seed 0]
import { execFileSync } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { initBackend } from '@nasjs/backend'
import { Rng } from '@nasjs/core'
import { fbnet, ofaMbv3 } from '@nasjs/search-space'
import * as tf from '@tensorflow/tfjs-core'
import type * as tfl from '@tensorflow/tfjs-layers'
import { buildFbnet, fbnetCost } from '../src/fbnet.js'
import { buildOfaMbv3, ofaMbv3Cost } from '../src/ofa-mbv3.js'

const arg = (name: string, d: number) => {
  const i = process.argv.indexOf(`--${name}`)
  return i < 0 ? d : Number(process.argv[i + 1])
}
const n = arg('n', 20)
const seed = arg('seed', 0)
const outputs = arg('outputs', 4)
const here = dirname(fileURLToPath(import.meta.url))
const tmp = mkdtempSync(join(tmpdir(), 'nasjs-mbconv-'))

const trainable = (m: tfl.LayersModel) =>
  m.trainableWeights.reduce((s, w) => s + w.shape.reduce<number>((p, d) => p * (d ?? 1), 1), 0)

interface Row {
  space: string
  arch: string
  options: string
  analytic: { params: number; flops: number }
  built: number
  job: Record<string, unknown>
  logits?: Float32Array
}

/**
 * Randomises the BatchNorm statistics, scales and shifts and the biases of `model` (they start at 0
 * and 1), writes its weights and one random NHWC image for PyTorch, and returns the TF.js logits.
 */
function prepareOutputs(model: tfl.LayersModel, job: Record<string, unknown>, i: number): Float32Array {
  const rng = new Rng(1000 + i)
  // layer by layer, in the order of the graph (model.weights lists the trainable weights first)
  const weights = model.layers.flatMap((layer) => {
    const values = layer.getWeights().map((v, k) => {
      const name = layer.weights[k]!.originalName
      if (/gamma|moving_variance/.test(name))
        return tf.randomUniform(v.shape, 0.5, 1.5, 'float32', rng.int(2 ** 31))
      if (/beta|moving_mean|bias/.test(name))
        return tf.randomNormal(v.shape, 0, 0.1, 'float32', rng.int(2 ** 31))
      return v.clone()
    })
    layer.setWeights(values)
    return values
  })
  const file = join(tmp, `weights-${i}.bin`)
  writeFileSync(file, Buffer.concat(weights.map((w) => Buffer.from((w.dataSync() as Float32Array).buffer))))
  const r = job['resolution'] as number
  const x = tf.randomNormal([1, r, r, 3], 0, 1, 'float32', rng.int(2 ** 31))
  writeFileSync(join(tmp, `input-${i}.bin`), Buffer.from((x.dataSync() as Float32Array).buffer))
  const logits = tf.tidy(() => (model.predict(x) as tf.Tensor).dataSync() as Float32Array)
  Object.assign(job, {
    weights: file,
    shapes: weights.map((w) => w.shape),
    input: join(tmp, `input-${i}.bin`),
  })
  tf.dispose([...weights, x])
  return logits
}

await initBackend({ quiet: true })
const rows: Row[] = []
const ofaRng = new Rng(seed)
for (let i = 0; i < n; i++) {
  const arch = ofaMbv3.sample(ofaRng)
  const widthMult = i % 2 === 0 ? 1 : 1.2
  const model = buildOfaMbv3(arch, { widthMult })
  const dict = JSON.parse(ofaMbv3.format(arch)) as Record<string, unknown>
  const job = { space: 'ofa-mbv3', arch: dict, widthMult, resolution: arch.resolution, classes: 1000 }
  rows.push({
    space: 'ofa-mbv3',
    arch: ofaMbv3.format(arch),
    options: `w${widthMult} r${arch.resolution}`,
    analytic: ofaMbv3Cost(arch, { widthMult }),
    built: trainable(model),
    job,
    ...(i < outputs ? { logits: prepareOutputs(model, job, rows.length) } : {}),
  })
  model.dispose()
}
const fbRng = new Rng(seed)
for (let i = 0; i < n; i++) {
  const arch = fbnet.sample(fbRng)
  const macro = i % 2 === 0 ? 'imagenet' : 'cifar'
  const classes = 1000
  const model = buildFbnet(arch, { macro, classes })
  const job = { space: 'fbnet', arch, macro, resolution: macro === 'cifar' ? 32 : 224, classes }
  rows.push({
    space: 'fbnet',
    arch: fbnet.format(arch),
    options: `${macro} r${job.resolution}`,
    analytic: fbnetCost(arch, { macro, classes }),
    built: trainable(model),
    job,
    ...(i < outputs ? { logits: prepareOutputs(model, job, rows.length) } : {}),
  })
  model.dispose()
}

const torch = JSON.parse(
  execFileSync('/usr/bin/python3', [join(here, 'mbconv_torch.py')], {
    input: JSON.stringify(rows.map((r) => r.job)),
    encoding: 'utf8',
    maxBuffer: 1 << 24,
  }),
) as { params: number; flops: number; out: number[]; logits?: number[] }[]
rmSync(tmp, { recursive: true, force: true })

/** Largest |TF.js - PyTorch| logit over the largest |logit|, or undefined when not compared. */
const outputError = (r: Row, t: { logits?: number[] }) => {
  if (r.logits === undefined || t.logits === undefined) return undefined
  let [diff, scale] = [0, 0]
  r.logits.forEach((v, k) => {
    diff = Math.max(diff, Math.abs(v - t.logits![k]!))
    scale = Math.max(scale, Math.abs(v))
  })
  return diff / scale
}

let allEqual = true
console.log(
  'space     options        analytic params  built params   torch params  | analytic flops   torch flops  | logits rel. diff  equal',
)
rows.forEach((r, i) => {
  const t = torch[i]!
  const err = outputError(r, t)
  const equal =
    r.analytic.params === r.built &&
    r.built === t.params &&
    r.analytic.flops === t.flops &&
    t.out.join() === '1,1000' &&
    (err === undefined || err < 1e-4)
  allEqual &&= equal
  console.log(
    [
      r.space.padEnd(9),
      r.options.padEnd(14),
      String(r.analytic.params).padStart(15),
      String(r.built).padStart(13),
      String(t.params).padStart(13),
      ' |',
      String(r.analytic.flops).padStart(14),
      String(t.flops).padStart(13),
      ' |',
      (err === undefined ? '-' : err.toExponential(1)).padStart(16),
      equal ? '   yes' : '   NO',
    ].join(' '),
  )
})
for (const space of ['ofa-mbv3', 'fbnet']) {
  const mine = rows.map((r, i) => ({ r, t: torch[i]! })).filter(({ r }) => r.space === space)
  const ok = mine.filter(
    ({ r, t }) => r.analytic.params === r.built && r.built === t.params && r.analytic.flops === t.flops,
  ).length
  console.log(
    `${space}: ${ok} of ${mine.length} equal (params: analytic = built = PyTorch; FLOPs: analytic = PyTorch)`,
  )
  const errs = mine.map(({ r, t }) => outputError(r, t)).filter((e) => e !== undefined)
  if (errs.length > 0)
    console.log(
      `${space}: logits of ${errs.length} networks with the TF.js weights loaded into PyTorch, largest relative difference ${Math.max(...errs).toExponential(1)}`,
    )
}
console.log(`all equal: ${allEqual}`)
process.exitCode = allEqual ? 0 : 1
