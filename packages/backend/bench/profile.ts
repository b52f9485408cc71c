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
;(globalThis as any)['__prof'] = new Map()
const t0 = performance.now()
const prof = await tf.profile(async () => {
  await model.trainOnBatch(x, y)
})
console.log('step', performance.now() - t0)
const agg = new Map<string, number>()
for (const k of prof.kernels) agg.set(k.name, (agg.get(k.name) ?? 0) + (k.kernelTimeMs as number))
console.log(
  [...agg]
    .sort((a, b) => b[1] - a[1])
    .slice(0, 15)
    .map(([k, v]) => `${k} ${v.toFixed(1)}`)
    .join('\n'),
)
for (const k of prof.kernels.filter((k) => (k.kernelTimeMs as number) > 5))
  console.log(k.name, (k.kernelTimeMs as number).toFixed(1), JSON.stringify(k.inputShapes))

console.log(
  [...(globalThis as any).__prof]
    .sort((a: any, b: any) => b[1] - a[1])
    .slice(0, 20)
    .map(([k, v]: any) => `  ${v.toFixed(1)} ${k}`)
    .join('\n'),
)
