/**
 * The network the quantization benches start from: the NB201 skeleton on Fashion-MNIST (28x28x1)
 * with one fixed cell, trained with SGD (lr 0.05, batch 64, seed 1) on a stratified split (seed 0).
 */
import { initBackend } from '@nasjs/backend'
import { buildModel, train } from '@nasjs/models'
import { loadDataset } from '@nasjs/models/node'
import { nb201 } from '@nasjs/search-space'

export const BENCH_CELL = nb201.parse(
  '|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_3x3~2|',
)

/** Loads the data, builds and trains the network; `build()` makes another (untrained) copy. */
export async function trainedNb201(o: {
  readonly channels: number
  readonly cells: number
  readonly train: number
  readonly valid: number
  readonly test?: number
  readonly epochs: number
}) {
  const backend = await initBackend({ quiet: true })
  const data = await loadDataset('fashion-mnist', {
    train: o.train,
    valid: o.valid,
    ...(o.test === undefined ? {} : { test: o.test }),
    seed: 0,
  })
  const build = () =>
    buildModel(nb201, BENCH_CELL, {
      channels: o.channels,
      cellsPerStage: o.cells,
      inputShape: [28, 28, 1],
      seed: 1,
    })
  const model = build()
  const t0 = performance.now()
  await train(model, data.train, { optimizer: 'sgd', lr: 0.05, epochs: o.epochs, batchSize: 64, seed: 1 })
  process.stderr.write(
    `trained in ${((performance.now() - t0) / 60_000).toFixed(1)} min on ${backend.name}\n`,
  )
  return { backend, data, model, build }
}
