// Loads an exported subnet with @tensorflow/tfjs alone (no nasjs import) and prints its outputs on
// the inputs given as JSON, for a fresh-process test.
// Usage: node load-tfjs.mjs <model dir> <inputs.json>
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import * as tf from '@tensorflow/tfjs'

const [dir, inputsFile] = process.argv.slice(2)
await tf.setBackend('cpu')
const json = JSON.parse(readFileSync(join(dir, 'model.json'), 'utf8'))
const weights = readFileSync(join(dir, json.weightsManifest[0].paths[0]))
const model = await tf.loadLayersModel(
  tf.io.fromMemory({
    modelTopology: json.modelTopology,
    weightSpecs: json.weightsManifest.flatMap((m) => m.weights),
    weightData: weights.buffer.slice(weights.byteOffset, weights.byteOffset + weights.byteLength),
  }),
)
const { shape, values } = JSON.parse(readFileSync(inputsFile, 'utf8'))
const y = model.predict(tf.tensor(values, shape))
process.stdout.write(JSON.stringify(Array.from(y.dataSync())))
