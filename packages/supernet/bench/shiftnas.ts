/**
 * ShiftNAS on the scaled-down OFA space (OFA_MBV3_FMNIST with plain centre kernels) on Fashion-MNIST:
 * the supernet and its architecture generator trained together; then, per complexity bin, the
 * generator's subnet for the bin's centre (no search): its MFLOPs against the target, and its test
 * accuracy on the supernet's weights (BatchNorm recalibrated on 500 training images).
 *
 *   npx tsx --conditions=@nasjs/source bench/shiftnas.ts --out runs/shiftnas.json [--epochs 15] [--train 5000] [--bins 8]
 */
import { writeFileSync } from 'node:fs'
import { parseArgs } from 'node:util'
import { initBackend } from '@nasjs/backend'
import { loadDataset } from '@nasjs/models/node'
import {
  ArchitectureGenerator,
  ElasticMbv3,
  OFA_MBV3_FMNIST,
  evaluateSubnet,
  recalibrate,
  trainShiftNas,
} from '../src/index.js'

const { values } = parseArgs({
  options: {
    out: { type: 'string', default: 'runs/shiftnas.json' },
    epochs: { type: 'string', default: '15' },
    train: { type: 'string', default: '5000' },
    bins: { type: 'string', default: '8' },
    seed: { type: 'string', default: '0' },
  },
})
const log = (s: string) => process.stderr.write(`${s}\n`)
const backend = await initBackend({ quiet: true })
const data = await loadDataset('fashion-mnist', { train: Number(values.train), valid: 1000, seed: 0 })
const seed = Number(values.seed)
const bins = Number(values.bins)
const net = new ElasticMbv3({ ...OFA_MBV3_FMNIST, kernelTransform: false, seed })
const generator = new ArchitectureGenerator(net, bins, 64, seed)
let last = 0
const r = await trainShiftNas(
  net,
  generator,
  data.train,
  { epochs: Number(values.epochs), bins, seed },
  {
    onProgress: (p) => {
      if (performance.now() - last < 30_000 && p.step !== p.totalSteps) return
      last = performance.now()
      log(
        `step ${p.step}/${p.totalSteps} loss ${p.loss.toFixed(3)} bin ${p.bin} cost/target ${p.costRatio.toFixed(2)} ${p.imagesPerSecond.toFixed(0)} img/s eta ${(p.etaSeconds / 60).toFixed(1)} min`,
      )
    },
  },
)
const rows = r.generated.map((g, b) => {
  const bn = recalibrate(net, g.arch, data.train)
  const acc = evaluateSubnet(net, g.arch, data.test, { bn }).acc
  const row = {
    bin: b,
    probability: r.bins[b]!.probability,
    targetMflops: g.target / 1e6,
    mflops: g.cost / 1e6,
    gap: g.cost / g.target - 1,
    testAcc: acc,
    arch: net.space.format(g.arch),
  }
  log(JSON.stringify(row))
  return row
})
writeFileSync(
  values.out,
  `${JSON.stringify({ status: r.status, steps: r.steps, minutes: r.seconds / 60, backend: backend.name, rows }, null, 2)}\n`,
)
log(`${r.status}: ${r.steps} steps in ${(r.seconds / 60).toFixed(1)} min`)
generator.dispose()
net.dispose()
