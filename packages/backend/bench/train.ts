/**
 * Training throughput of the wasm backend (with the @nasjs/backend training kernels) against the
 * pure-JS cpu backend and, when Debian's python3-torch is installed, PyTorch on CPU (1 and 2 threads),
 * on the same two networks, batch and optimizer. Prints a table and, as its last line, one JSON
 * object with every figure.
 *
 *   pnpm --filter @nasjs/backend bench
 *   (= tsx --conditions=@nasjs/source bench/train.ts; options: --steps N --cpu-steps N --no-torch)
 */
import '@tensorflow/tfjs-backend-cpu'
import { spawnSync } from 'node:child_process'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import * as tf from '@tensorflow/tfjs-core'
import type * as tfl from '@tensorflow/tfjs-layers'
import { initBackend } from '../src/index.js'
import { mobileNetLike, smallCnn, syntheticBatch } from '../src/testing-internal/networks.js'

const args = process.argv.slice(2)
const option = (name: string, fallback: number) => {
  const i = args.indexOf(`--${name}`)
  return i >= 0 ? Number(args[i + 1]) : fallback
}
const STEPS = option('steps', 20)
const CPU_STEPS = option('cpu-steps', 1)
const BATCH = 64
const PYTHON = '/usr/bin/python3'

type Net = 'cnn' | 'mobilenet'
const build: Record<Net, () => tfl.Sequential> = { cnn: smallCnn, mobilenet: mobileNetLike }

/** FLOPs of every convolution in one training step (forward + input and filter gradients). */
function convFlopsPerStep(model: tfl.Sequential): number {
  let flops = 0
  model.layers.forEach((layer, i) => {
    const cls = layer.getClassName()
    if (cls !== 'Conv2D' && cls !== 'DepthwiseConv2D') return
    const out = layer.outputShape as number[]
    // Conv2D [kh, kw, in, out]; DepthwiseConv2D [kh, kw, in, multiplier]: MACs per output pixel.
    const [kh, kw, cin, cout] = (layer.getWeights()[0] as tf.Tensor).shape as [number, number, number, number]
    const macs = out[1]! * out[2]! * kh * kw * cin * cout
    // The first layer needs no input gradient.
    flops += 2 * macs * BATCH * (i === 0 ? 2 : 3)
  })
  return flops
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b)
  return s[Math.floor(s.length / 2)]!
}

async function trainThroughput(backend: string, net: Net, steps: number, warmup: number) {
  await tf.setBackend(backend)
  const model = build[net]()
  model.compile({ optimizer: tf.train.momentum(0.01, 0.9), loss: 'categoricalCrossentropy' })
  const { x, y } = syntheticBatch(BATCH, 7)
  const times: number[] = []
  for (let i = 0; i < warmup + steps; i++) {
    const t0 = performance.now()
    await model.trainOnBatch(x, y)
    if (i >= warmup) times.push(performance.now() - t0)
  }
  const stepMs = median(times)
  const flops = convFlopsPerStep(model)
  tf.dispose([x, y])
  model.dispose()
  return { stepMs, imagesPerSecond: (BATCH * 1000) / stepMs, convGflops: flops / stepMs / 1e6 }
}

/**
 * The wasm backend's peak: the best of 20 runs of one large forward convolution with a cached filter
 * (XNNPACK's best case), taken before and after the training runs.
 */
async function wasmPeakConvGflops(): Promise<number> {
  await tf.setBackend('wasm')
  const x = tf.randomNormal<tf.Rank.R4>([64, 14, 14, 64])
  const f = tf.randomNormal<tf.Rank.R4>([3, 3, 64, 64])
  const flops = 2 * 64 * 14 * 14 * 9 * 64 * 64
  let best = Number.POSITIVE_INFINITY
  for (let i = 0; i < 22; i++) {
    const t0 = performance.now()
    tf.tidy(() => {
      tf.conv2d(x, f, 1, 'same').dataSync()
    })
    if (i >= 2) best = Math.min(best, performance.now() - t0)
  }
  tf.dispose([x, f])
  return flops / best / 1e6
}

function torchAnchor(net: Net, threads: number) {
  const script = join(dirname(fileURLToPath(import.meta.url)), 'torch_train.py')
  const run = spawnSync(
    PYTHON,
    [script, '--net', net, '--threads', String(threads), '--steps', String(STEPS), '--batch', String(BATCH)],
    { encoding: 'utf8' },
  )
  if (run.status !== 0) throw new Error(run.stderr.trim().split('\n').pop() ?? 'torch run failed')
  return JSON.parse(run.stdout.trim().split('\n').pop()!) as {
    imagesPerSecond: number
    stepMs: number
    torch: string
  }
}

function torchAvailable(): { ok: true; version: string } | { ok: false; note: string } {
  if (args.includes('--no-torch')) return { ok: false, note: 'skipped (--no-torch)' }
  const probe = spawnSync(PYTHON, ['-c', 'import torch; print(torch.__version__)'], { encoding: 'utf8' })
  if (probe.error !== undefined || probe.status !== 0) {
    return {
      ok: false,
      note: `PyTorch anchor skipped: ${PYTHON} cannot import torch (apt-get install python3-torch)`,
    }
  }
  return { ok: true, version: probe.stdout.trim() }
}

const round = (v: number, d = 1) => Math.round(v * 10 ** d) / 10 ** d
const progress = (line: string) => process.stderr.write(`  ... ${line}\n`)

async function main() {
  delete process.env['NASJS_BACKEND']
  // What a user gets here (printed), then wasm explicitly for the measurements.
  await initBackend()
  const info = await initBackend({ prefer: 'wasm', quiet: true })
  const peakBefore = await wasmPeakConvGflops()
  const torch = torchAvailable()
  const result: Record<string, unknown> = {
    batch: BATCH,
    steps: { wasm: STEPS, cpu: CPU_STEPS, torch: STEPS },
    wasm: { simd: info.simd, threads: info.threads },
    torch: torch.ok ? torch.version : torch.note,
  }
  const lines: string[] = []
  for (const net of ['cnn', 'mobilenet'] as const) {
    const wasm = await trainThroughput('wasm', net, STEPS, 3)
    progress(`${net}: wasm ${round(wasm.imagesPerSecond)} img/s`)
    // cpu needs minutes per step on the CNN: no warm-up step (its first step has no one-time cost
    // worth mentioning next to that).
    const cpu = await trainThroughput('cpu', net, CPU_STEPS, 0)
    progress(`${net}: cpu ${round(cpu.imagesPerSecond, 2)} img/s`)
    const entry: Record<string, unknown> = {
      wasm: round(wasm.imagesPerSecond),
      cpu: round(cpu.imagesPerSecond, 2),
      wasmOverCpu: round(wasm.imagesPerSecond / cpu.imagesPerSecond),
      wasmConvGflops: round(wasm.convGflops),
      wasmStepMs: round(wasm.stepMs),
    }
    lines.push(
      `${net.padEnd(9)} wasm ${round(wasm.imagesPerSecond)} img/s (${round(wasm.stepMs)} ms/step, conv ${round(wasm.convGflops)} GFLOP/s)` +
        `  cpu ${round(cpu.imagesPerSecond, 2)} img/s  wasm/cpu ${round(wasm.imagesPerSecond / cpu.imagesPerSecond)}x`,
    )
    if (torch.ok) {
      for (const threads of [1, 2]) {
        const t = torchAnchor(net, threads)
        progress(`${net}: torch ${threads} thread(s) ${round(t.imagesPerSecond)} img/s`)
        entry[`torch${threads}t`] = round(t.imagesPerSecond)
        entry[`torch${threads}tOverWasm`] = round(t.imagesPerSecond / wasm.imagesPerSecond, 2)
        lines.push(
          `${''.padEnd(9)} torch ${threads} thread${threads > 1 ? 's' : ''} ${round(t.imagesPerSecond)} img/s  torch/wasm ${round(t.imagesPerSecond / wasm.imagesPerSecond, 2)}x`,
        )
      }
    }
    result[net] = entry
  }
  const peak = Math.max(peakBefore, await wasmPeakConvGflops())
  result['wasmPeakConvGflops'] = round(peak)
  console.log(
    `wasm peak conv ${round(peak)} GFLOP/s (best of 40 runs: 64x14x14x64 by 3x3x64x64, cached filter)`,
  )
  if (!torch.ok) console.log(torch.note)
  for (const l of lines) console.log(l)
  console.log(JSON.stringify(result))
}

await main()
