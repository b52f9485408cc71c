/**
 * Single-Path NAS on the scaled-down OFA space (OFA_MBV3_FMNIST with plain centre kernels) on
 * Fashion-MNIST: one search per cost weight, the chosen subnet's MFLOPs, its test accuracy on the
 * superkernel weights (BatchNorm recalibrated on 500 training images) and, with --standalone, trained
 * alone with the recipe of bench/fmnist.ts (so it sits beside that bench's standalone subnets).
 *
 *   npx tsx --conditions=@nasjs/source bench/single-path.ts --weights 0,20,100 --out runs/single-path.jsonl [--standalone]
 *
 * Options: --train 5000 (training images), --epochs 8 (search), --standalone-epochs 15, --seed 1,
 * --space fbnet (the FBNet supernet FBNET_FMNIST with plain centre kernels instead), and with it
 * --cost latency:<device> (e.g. latency:pixel3): the search trades accuracy against the latency the
 * HELP/HW-NAS-Bench FBNet table gives the same blocks on that device (a per-layer LUT fitted to its
 * 5,000 measured architectures), instead of FLOPs.
 * One line per cost weight is appended to --out; a weight already there is skipped (resumable).
 */
import { appendFileSync, existsSync, readFileSync } from 'node:fs'
import { parseArgs } from 'node:util'
import { initBackend } from '@nasjs/backend'
import { buildMbNetwork, evaluate, train } from '@nasjs/models'
import { loadDataset } from '@nasjs/models/node'
import { fitLatencyLut } from '@nasjs/benchmarks'
import type { FbnetArch, OfaArch } from '@nasjs/search-space'
import {
  ElasticFbnet,
  ElasticMbv3,
  FBNET_FMNIST,
  OFA_MBV3_FMNIST,
  type ElasticSupernet,
  type SinglePathResult,
  evaluateSubnet,
  largestArch,
  recalibrate,
  resizeDataset,
  singlePathSearch,
} from '../src/index.js'

const { values } = parseArgs({
  options: {
    weights: { type: 'string', default: '0,20,100' },
    out: { type: 'string', default: 'runs/single-path.jsonl' },
    train: { type: 'string', default: '5000' },
    epochs: { type: 'string', default: '8' },
    'standalone-epochs': { type: 'string', default: '15' },
    seed: { type: 'string', default: '1' },
    standalone: { type: 'boolean', default: false },
    space: { type: 'string', default: 'ofa-mbv3' },
    cost: { type: 'string', default: 'flops' },
  },
})
const seed = Number(values.seed)
const log = (s: string) => process.stderr.write(`${s}\n`)
const backend = await initBackend({ quiet: true })
const data = await loadDataset('fashion-mnist', { train: Number(values.train), valid: 1000, seed: 0 })
const out = values.out
const done = new Set(
  existsSync(out)
    ? readFileSync(out, 'utf8')
        .split('\n')
        .filter((l) => l.trim() !== '')
        .map((l) => (JSON.parse(l) as { weight: number }).weight)
    : [],
)
for (const weight of values.weights.split(',').map(Number)) {
  if (done.has(weight)) continue
  const fb = values.space === 'fbnet'
  const ofaNet = fb ? undefined : new ElasticMbv3({ ...OFA_MBV3_FMNIST, kernelTransform: false, seed })
  const fbNet = fb ? new ElasticFbnet({ ...FBNET_FMNIST, kernelTransform: false, seed }) : undefined
  const net = (ofaNet ?? fbNet!) as ElasticSupernet<OfaArch | FbnetArch>
  const full =
    ofaNet !== undefined
      ? ofaNet.cost(largestArch(ofaNet.config)).flops
      : fbNet!.cost(fbNet!.largestArch()).flops
  const t0 = performance.now()
  const settings = { epochs: Number(values.epochs), costWeight: weight, seed }
  const latency = values.cost.startsWith('latency:') ? values.cost.slice('latency:'.length) : undefined
  const lut =
    latency === undefined
      ? undefined
      : fitLatencyLut((await import('@nasjs/benchmarks/node')).loadFbnet(), latency)
  const fbCost = lut === undefined ? undefined : (a: FbnetArch) => lut.predict(a)
  const hooks = {
    onProgress: (p: {
      step: number
      totalSteps: number
      ce: number
      cost: number
      imagesPerSecond: number
      etaSeconds: number
    }) => {
      if (p.step % 50 === 0 || p.step === p.totalSteps)
        log(
          `weight ${weight}: step ${p.step}/${p.totalSteps} ce ${p.ce.toFixed(3)} cost ${p.cost.toFixed(3)} ${p.imagesPerSecond.toFixed(0)} img/s eta ${(p.etaSeconds / 60).toFixed(1)} min`,
        )
    },
    onEpoch: (e: { epoch: number; arch: OfaArch | FbnetArch; cost: number }) =>
      log(`  epoch ${e.epoch}: ${net.space.format(e.arch)} cost ${e.cost.toFixed(3)}`),
  }
  const r: SinglePathResult<OfaArch | FbnetArch> =
    ofaNet !== undefined
      ? await singlePathSearch(ofaNet, data.train, settings, hooks)
      : await singlePathSearch(fbNet!, data.train, settings, {
          ...hooks,
          ...(fbCost === undefined ? {} : { cost: fbCost }),
        })
  const searchSeconds = (performance.now() - t0) / 1000
  const bn = recalibrate(net, r.arch, data.train)
  const inherited = evaluateSubnet(net, r.arch, data.test, { bn }).acc
  let standalone: number | undefined
  if (values.standalone) {
    const epochs = Number(values['standalone-epochs'])
    const side = net.resolutionOf(r.arch)
    const d = { train: resizeDataset(data.train, side), test: resizeDataset(data.test, side) }
    const model = buildMbNetwork(net.network(r.arch), 0)
    const steps = Math.ceil(d.train.y.length / 64) * epochs
    // bench/fmnist.ts's standalone recipe
    await train(model, d.train, {
      epochs,
      batchSize: 64,
      optimizer: 'sgd',
      lr: 0.05,
      momentum: 0.9,
      nesterov: true,
      weightDecay: 3e-5,
      labelSmoothing: 0.1,
      warmupSteps: Math.round(0.04 * steps),
      seed: 0,
    })
    standalone = evaluate(model, d.test).acc
    model.dispose()
  }
  const row = {
    space: values.space,
    cost: values.cost,
    weight,
    ...(lut === undefined
      ? {}
      : {
          ms: r.cost,
          largestMs: lut.predict(fbNet!.largestArch()),
          flops: net.cost(r.arch).flops,
        }),
    arch: net.space.format(r.arch),
    mflops: net.cost(r.arch).flops / 1e6,
    share: net.cost(r.arch).flops / full,
    params: net.cost(r.arch).params,
    inherited,
    ...(standalone === undefined ? {} : { standalone }),
    searchMinutes: searchSeconds / 60,
    status: r.status,
    backend: backend.name,
    history: r.history.map((h) => ({ epoch: h.epoch, mflops: h.cost / 1e6, ce: h.ce })),
  }
  appendFileSync(out, `${JSON.stringify(row)}\n`)
  log(JSON.stringify({ ...row, history: undefined }))
  net.dispose()
}
