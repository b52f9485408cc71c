/**
 * The acceptance experiment of `@nasjs/supernet` on Fashion-MNIST (the scaled-down OFA space
 * OFA_MBV3_FMNIST): train a supernet with a schedule, train subnets alone with the same recipe, and
 * compare inherited accuracy (after BatchNorm recalibration) with standalone accuracy.
 *
 *   npx tsx --conditions=@nasjs/source bench/fmnist.ts train --schedule progressive --out runs/ps
 *   npx tsx --conditions=@nasjs/source bench/fmnist.ts train --schedule bignas --out runs/bignas
 *   npx tsx --conditions=@nasjs/source bench/fmnist.ts standalone --out runs/standalone.jsonl [--shard 0/2]
 *   npx tsx --conditions=@nasjs/source bench/fmnist.ts compare --supernet runs/ps --standalone runs/standalone.jsonl [--json]
 *
 * `--space fbnet` runs the same experiment on the FBNet supernet (FBNET_FMNIST, the sandwich rule):
 * its subnets are the largest (k5_e6 everywhere), the smallest (skip everywhere) and random ones.
 *
 * `train --shares '{"full":600}'` overrides progressive shrinking's epoch shares by phase name;
 * `train --max-steps N` stops after N steps with a checkpoint; `extremes --supernet dir` prints the
 * largest and the smallest subnet's test accuracy (BatchNorm recalibrated).
 * Common options: --train 5000 (training images), --epochs 15, --seed 0, --archs 20 (random subnets
 * besides the largest and the smallest). Every command resumes where it stopped (checkpoints after
 * every epoch; standalone results are appended one subnet per line).
 */
import { appendFileSync, existsSync, readFileSync } from 'node:fs'
import { parseArgs } from 'node:util'
import { initBackend } from '@nasjs/backend'
import { kendallTau, Rng, spearmanRho } from '@nasjs/core'
import { buildMbNetwork, evaluate, train } from '@nasjs/models'
import { loadDataset } from '@nasjs/models/node'
import type { FbnetArch, OfaArch } from '@nasjs/search-space'
import {
  ElasticFbnet,
  ElasticMbv3,
  FBNET_FMNIST,
  OFA_MBV3_FMNIST,
  type ElasticSupernet,
  evaluateSubnet,
  extremeSubnet,
  recalibrate,
  resizeDataset,
  sampleSubnet,
  trainSupernet,
} from '../src/index.js'
import { loadSupernet, loadSupernetState, saveSupernetState } from '../src/node/index.js'

const { positionals, values } = parseArgs({
  allowPositionals: true,
  options: {
    space: { type: 'string', default: 'ofa-mbv3' },
    schedule: { type: 'string', default: 'progressive' },
    out: { type: 'string' },
    supernet: { type: 'string', multiple: true },
    standalone: { type: 'string' },
    train: { type: 'string', default: '5000' },
    epochs: { type: 'string', default: '15' },
    seed: { type: 'string', default: '0' },
    archs: { type: 'string', default: '20' },
    shard: { type: 'string', default: '0/1' },
    json: { type: 'boolean', default: false },
    shares: { type: 'string' },
    'max-steps': { type: 'string' },
  },
})
const command = positionals[0]
const seed = Number(values.seed)
const epochs = Number(values.epochs)
const backend = await initBackend({ quiet: true })
const data = await loadDataset('fashion-mnist', { train: Number(values.train), valid: 1000, seed })
const recipe = { epochs, batchSize: 64, lr: 0.05, seed }
const log = (s: string) => process.stderr.write(`${s}\n`)

const fbnetSpace = values.space === 'fbnet'
type Net = ElasticSupernet<OfaArch | FbnetArch>
/** A supernet of the bench's space (FBNet: BigNAS's plain kernel centre with the sandwich rule). */
const makeNet = (bignas: boolean): Net =>
  fbnetSpace
    ? new ElasticFbnet({ ...FBNET_FMNIST, ...(bignas ? { kernelTransform: false } : {}), seed })
    : new ElasticMbv3({
        ...OFA_MBV3_FMNIST,
        ...(bignas ? { kernelTransform: false, zeroInitResidual: true } : {}),
        seed,
      })

/** The subnets compared: the largest, the smallest and `archs` random ones (fixed by the seed). */
function subnets(): { label: string; arch: OfaArch | FbnetArch }[] {
  if (fbnetSpace) {
    const fb = new ElasticFbnet(FBNET_FMNIST)
    const rng = new Rng(1000 + seed)
    const out = [
      { label: 'largest', arch: fb.largestArch() },
      { label: 'smallest', arch: fb.smallestArch() },
      ...Array.from({ length: Number(values.archs) }, (_, i) => ({
        label: `random-${i + 1}`,
        arch: fb.sampleArch(rng),
      })),
    ]
    fb.dispose()
    return out
  }
  const net = new ElasticMbv3(OFA_MBV3_FMNIST)
  const c = net.config
  net.dispose()
  const rng = new Rng(1000 + seed)
  return [
    { label: 'largest', arch: extremeSubnet(c, 'largest', Math.max(...c.resolutions)) },
    { label: 'smallest', arch: extremeSubnet(c, 'smallest', Math.min(...c.resolutions)) },
    ...Array.from({ length: Number(values.archs) }, (_, i) => ({
      label: `random-${i + 1}`,
      arch: sampleSubnet(c, rng),
    })),
  ]
}

if (command === 'train') {
  const out = values.out!
  const bignas = values.schedule === 'bignas' || fbnetSpace
  const net = makeNet(bignas) as ElasticMbv3 | ElasticFbnet
  const resume = existsSync(`${out}/supernet.json`) ? loadSupernetState(out) : undefined
  const config = {
    ...recipe,
    schedule: bignas ? ('bignas' as const) : ('progressive' as const),
    ...(values.shares === undefined ? {} : { shares: JSON.parse(values.shares) as Record<string, number> }),
  }
  let last = 0
  const r = await trainSupernet(net, data.train, config, {
    ...(resume === undefined ? {} : { resume }),
    ...(values['max-steps'] === undefined ? {} : { maxSteps: Number(values['max-steps']) }),
    onCheckpoint: (s) => saveSupernetState(out, s),
    onProgress: (p) => {
      if (performance.now() - last < 30_000 && p.step !== p.totalSteps) return
      last = performance.now()
      log(
        `${p.phase} (${p.phaseIndex + 1}/${p.phases}) step ${p.step}/${p.totalSteps} epoch ${p.epoch.toFixed(2)} loss ${p.loss.toFixed(3)} lr ${p.lr.toFixed(4)} ${p.imagesPerSecond.toFixed(0)} img/s ETA ${(p.etaSeconds / 60).toFixed(1)} min`,
      )
    },
  })
  const s = loadSupernetState(out)
  log(`${r.status}: ${r.steps} steps, ${(s.seconds / 60).toFixed(1)} min in all (${backend.name})`)
  net.dispose()
} else if (command === 'standalone') {
  const out = values.out!
  const [k, n] = values.shard.split('/').map(Number) as [number, number]
  const done = new Set(
    existsSync(out)
      ? readFileSync(out, 'utf8')
          .split('\n')
          .filter((l) => l.trim() !== '')
          .map((l) => (JSON.parse(l) as { label: string }).label)
      : [],
  )
  const net = makeNet(false)
  const list = subnets().filter((_, i) => i % n === k)
  const resized = new Map<number, { train: typeof data.train; test: typeof data.test }>()
  for (const { label, arch } of list) {
    if (done.has(label)) continue
    const side = net.resolutionOf(arch)
    let d = resized.get(side)
    if (d === undefined) {
      d = { train: resizeDataset(data.train, side), test: resizeDataset(data.test, side) }
      resized.set(side, d)
    }
    const model = buildMbNetwork(net.network(arch), seed)
    const t0 = performance.now()
    // the supernet's recipe: SGD with Nesterov momentum, cosine from lr 0.05 with 4 % warm-up, label
    // smoothing 0.1, weight decay 3e-5, batch 64, the same epochs and images
    const steps = Math.ceil(d.train.y.length / 64) * epochs
    const r = await train(model, d.train, {
      epochs,
      batchSize: 64,
      optimizer: 'sgd',
      lr: 0.05,
      momentum: 0.9,
      nesterov: true,
      weightDecay: 3e-5,
      labelSmoothing: 0.1,
      warmupSteps: Math.round(0.04 * steps),
      seed,
    })
    const test = evaluate(model, d.test)
    model.dispose()
    const row = {
      label,
      arch: net.space.format(arch),
      flops: net.cost(arch).flops,
      params: net.cost(arch).params,
      testAcc: test.acc,
      seconds: (performance.now() - t0) / 1000,
      status: r.status,
    }
    appendFileSync(out, `${JSON.stringify(row)}\n`)
    log(`${label}: test ${(100 * test.acc).toFixed(2)} % in ${row.seconds.toFixed(0)} s`)
  }
  net.dispose()
} else if (command === 'compare') {
  const standalone = new Map(
    readFileSync(values.standalone!, 'utf8')
      .split('\n')
      .filter((l) => l.trim() !== '')
      .map((l) => JSON.parse(l) as { label: string; testAcc: number })
      .map((r) => [r.label, r.testAcc]),
  )
  const results: Record<string, unknown>[] = []
  for (const dir of values.supernet ?? []) {
    const { net: loaded, header } = loadSupernet(dir)
    const net = loaded as Net
    const rows = subnets().map(({ label, arch }) => {
      const bn = recalibrate(net, arch, data.train, { images: 500 })
      const inherited = evaluateSubnet(net, arch, data.test, { bn }).acc
      return {
        label,
        arch: net.space.format(arch),
        mflops: net.cost(arch).flops / 1e6,
        inherited,
        standalone: standalone.get(label),
      }
    })
    const paired = rows.filter((r) => r.standalone !== undefined && r.label.startsWith('random'))
    const x = paired.map((r) => r.inherited)
    const y = paired.map((r) => r.standalone!)
    const gap = paired.reduce((s, r) => s + (r.standalone! - r.inherited), 0) / Math.max(1, paired.length)
    results.push({
      supernet: dir,
      schedule: header.train.schedule,
      minutes: header.seconds / 60,
      random: paired.length,
      kendallTau: paired.length < 2 ? NaN : kendallTau(x, y),
      spearman: paired.length < 2 ? NaN : spearmanRho(x, y),
      meanGapPoints: 100 * gap,
      rows,
    })
    net.dispose()
  }
  if (values.json) console.log(JSON.stringify({ backend: backend.name, results }, null, 2))
  else
    for (const r of results) {
      console.log(
        `${String(r.supernet)} (${String(r.schedule)}, ${(r.minutes as number).toFixed(1)} min): tau ${(r.kendallTau as number).toFixed(3)}, rho ${(r.spearman as number).toFixed(3)}, standalone - inherited ${(r.meanGapPoints as number).toFixed(2)} points over ${String(r.random)} random subnets`,
      )
      console.table((r.rows as Record<string, unknown>[]).map((row) => ({ ...row, arch: undefined })))
    }
} else if (command === 'extremes') {
  // the largest and the smallest subnet of each supernet, BatchNorm recalibrated, on the test images
  for (const dir of values.supernet ?? []) {
    const { net: loaded, header } = loadSupernet(dir)
    const net = loaded as Net
    const [largest, smallest] = subnets()
    for (const { label, arch } of [largest!, smallest!]) {
      const bn = recalibrate(net, arch, data.train, { images: 500 })
      const acc = evaluateSubnet(net, arch, data.test, { bn }).acc
      console.log(`${dir} (step ${header.step}): ${label} ${(100 * acc).toFixed(2)} %`)
    }
    net.dispose()
  }
} else {
  log('usage: fmnist.ts train|standalone|compare|extremes [options] (see the header of this file)')
  process.exitCode = 2
}
