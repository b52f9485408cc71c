// Loads a model saved by saveModel with plain TF.js packages only (no nasjs import, so no nasjs
// layer is registered) and prints its outputs on the inputs given as JSON, for a fresh-process test.
// Usage: node load-plain.mjs <model dir> <inputs.json> <tfjs-backend-cpu entry>
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import * as tf from '@tensorflow/tfjs-core'
import * as tfl from '@tensorflow/tfjs-layers'

const [dir, inputsFile, cpu] = process.argv.slice(2)
await import(pathToFileURL(cpu).href)
await tf.setBackend('cpu')
const json = JSON.parse(readFileSync(join(dir, 'model.json'), 'utf8'))
const weights = readFileSync(join(dir, json.weightsManifest[0].paths[0]))
const model = await tfl.loadLayersModel(
  tf.io.fromMemory({
    modelTopology: json.modelTopology,
    weightSpecs: json.weightsManifest.flatMap((m) => m.weights),
    weightData: weights.buffer.slice(weights.byteOffset, weights.byteOffset + weights.byteLength),
  }),
)
const { shape, values } = JSON.parse(readFileSync(inputsFile, 'utf8'))
const y = model.predict(tf.tensor(values, shape))
process.stdout.write(JSON.stringify(Array.from(y.dataSync())))
