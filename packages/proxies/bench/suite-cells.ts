// The cells, networks and batches of the NAS-Bench-Suite-Zero comparison, shared by the benches that
// must score the same networks on the same images (bench/suite-zero.ts, bench/grasp-reference.ts):
// distinct canonical NB201 cells in a seeded order (a smaller sample is a prefix of a larger), each
// the full CIFAR-10 network with PyTorch's default initialisation, and one batch per cell.
import type { Nb201Benchmark } from '@nasjs/benchmarks'
import { sampleCanonicalCells } from '@nasjs/benchmarks'
import { Rng } from '@nasjs/core'
import { buildModel, type Dataset } from '@nasjs/models'
import { loadDataset } from '@nasjs/models/node'
import { nb201 } from '@nasjs/search-space'
import type * as tfl from '@tensorflow/tfjs-layers'
import { fitToShape, randomBatch, reinitialize, sampleBatch, type ProxyBatch } from '../src/index.js'

/** `--name value` from the command line, or `d`. */
export const arg = (name: string, d: string): string => {
  const i = process.argv.indexOf(`--${name}`)
  return i < 0 ? d : process.argv[i + 1]!
}

/** The images batches are drawn from: Fashion-MNIST centred on 32x32 and copied to 3 channels, standardised; `random` is Gaussian. */
export async function suiteData(name: string): Promise<Dataset | undefined> {
  if (name === 'random') return undefined
  return fitToShape(
    (await loadDataset(name as 'fashion-mnist', { train: 10000, seed: 0 })).train,
    [32, 32, 3],
  )
}

/** The first `n` cells of the seeded sample (benchmark indices). */
export const suiteCells = (bench: Nb201Benchmark, n: number): number[] =>
  sampleCanonicalCells(bench, n, new Rng(2026))

/** Cell `index`'s network, initialised, its batch, and the generator the proxies continue with. */
export function suiteCell(
  bench: Nb201Benchmark,
  index: number,
  data: Dataset | undefined,
  batchSize: number,
): { model: tfl.LayersModel; batch: ProxyBatch; rng: Rng } {
  const rng = new Rng(`${index}`)
  const model = buildModel(nb201, bench.archAt(index), { seed: index })
  reinitialize(model, 'pytorch', rng)
  const batch = data ? sampleBatch(data, batchSize, rng) : randomBatch([32, 32, 3], batchSize, 10, rng)
  return { model, batch, rng }
}
