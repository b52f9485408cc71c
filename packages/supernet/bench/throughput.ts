/**
 * Training and evaluation speed of the Fashion-MNIST supernet (OFA_MBV3_FMNIST) on this machine:
 * images per second of one training pass (forward and backward) of the largest and the smallest
 * subnet at each resolution, and of an evaluation forward, at batch 64 (medians of `--repeats`).
 *
 *   npx tsx --conditions=@nasjs/source bench/throughput.ts [--repeats 10] [--json]
 */
import { parseArgs } from 'node:util'
import { initBackend } from '@nasjs/backend'
import { crossEntropy } from '@nasjs/models'
import * as tf from '@tensorflow/tfjs-core'
import { ElasticMbv3, OFA_MBV3_FMNIST, extremeSubnet } from '../src/index.js'

const { values } = parseArgs({
  options: { repeats: { type: 'string', default: '10' }, json: { type: 'boolean', default: false } },
})
const repeats = Number(values.repeats)
const backend = await initBackend({ quiet: true })
const net = new ElasticMbv3(OFA_MBV3_FMNIST)
const c = net.config
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!
const rows: {
  subnet: string
  resolution: number
  mflops: number
  trainImagesPerSecond: number
  evalImagesPerSecond: number
}[] = []
for (const which of ['largest', 'smallest'] as const) {
  for (const r of c.resolutions) {
    const arch = extremeSubnet(c, which, r)
    const x = tf.randomNormal<tf.Rank.R4>([64, r, r, 1], 0, 1, 'float32', 1)
    const y = tf.tensor1d(
      Array.from({ length: 64 }, (_, i) => i % 10),
      'int32',
    )
    const trainOnce = () => {
      const { value, grads } = tf.variableGrads(
        () => crossEntropy(net.forward(arch, x, { training: true }), y, 10),
        net.trainable,
      )
      value.dataSync()
      tf.dispose([value, ...Object.values(grads)])
      net.discardRunningStats()
    }
    const evalOnce = () => tf.tidy(() => net.forward(arch, x).dataSync())
    trainOnce()
    evalOnce()
    const train: number[] = []
    const evals: number[] = []
    for (let k = 0; k < repeats; k++) {
      let t0 = performance.now()
      trainOnce()
      train.push(performance.now() - t0)
      t0 = performance.now()
      evalOnce()
      evals.push(performance.now() - t0)
    }
    tf.dispose([x, y])
    rows.push({
      subnet: which,
      resolution: r,
      mflops: +(net.cost(arch).flops / 1e6).toFixed(2),
      trainImagesPerSecond: Math.round(64_000 / median(train)),
      evalImagesPerSecond: Math.round(64_000 / median(evals)),
    })
  }
}
net.dispose()
if (values.json) console.log(JSON.stringify({ backend, rows }, null, 2))
else {
  console.log(`backend ${backend.name}; batch 64; medians of ${repeats}`)
  console.table(rows)
}
