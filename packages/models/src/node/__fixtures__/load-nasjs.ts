// Loads a model saved by saveModel with nasjs layers kept (vit, transformer) in a fresh process that
// imports @nasjs/models (which registers its layers), and prints its outputs on the inputs given as
// JSON. Usage: node --conditions=@nasjs/source --import tsx load-nasjs.ts <model dir> <inputs.json>
import { readFileSync } from 'node:fs'
import { initBackend } from '@nasjs/backend'
import * as tf from '@tensorflow/tfjs-core'
import { loadSavedModel } from '../index.js'

const [dir, inputsFile] = process.argv.slice(2) as [string, string]
await initBackend({ quiet: true })
const model = await loadSavedModel(dir)
const { shape, values, dtype } = JSON.parse(readFileSync(inputsFile, 'utf8')) as {
  shape: number[]
  values: number[]
  dtype: 'float32' | 'int32'
}
const y = model.predict(tf.tensor(values, shape, dtype)) as tf.Tensor
process.stdout.write(JSON.stringify(Array.from(y.dataSync())))
