/**
 * Per-kernel time of one wasm training step (after three warm-up steps), summed by kernel name, then
 * every kernel call above 0.3 ms with its input shapes.
 *
 *   npx tsx --conditions=@nasjs/source bench/profile.ts [cnn|mobilenet]
 */
import '@tensorflow/tfjs-backend-cpu'
import * as tf from '@tensorflow/tfjs-core'
import { initBackend } from '../src/index.js'
import { mobileNetLike, smallCnn, syntheticBatch } from '../src/testing-internal/networks.js'

const net = process.argv[2] ?? 'cnn'
await initBackend({ prefer: 'wasm', quiet: true })
const model = net === 'cnn' ? smallCnn() : mobileNetLike()
model.compile({ optimizer: tf.train.momentum(0.01, 0.9), loss: 'categoricalCrossentropy' })
const { x, y } = syntheticBatch(64, 7)
for (let i = 0; i < 3; i++) await model.trainOnBatch(x, y)
const t0 = performance.now()
const prof = await tf.profile(async () => {
  await model.trainOnBatch(x, y)
})
console.log('step', (performance.now() - t0).toFixed(1), 'ms')
const ms = (k: { kernelTimeMs: unknown }) => (typeof k.kernelTimeMs === 'number' ? k.kernelTimeMs : 0)
const byName = new Map<string, number>()
for (const k of prof.kernels) byName.set(k.name, (byName.get(k.name) ?? 0) + ms(k))
console.log(
  [...byName]
    .sort((a, b) => b[1] - a[1])
    .slice(0, 15)
    .map(([k, v]) => `${k} ${v.toFixed(1)}`)
    .join('\n'),
)
for (const k of prof.kernels.filter((k) => ms(k) > 0.3)) {
  console.log(`  ${k.name} ${ms(k).toFixed(1)} ${JSON.stringify(k.inputShapes)}`)
}
tf.dispose([x, y])
model.dispose()
