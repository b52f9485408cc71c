import { spawnSync } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { initBackend } from '@nasjs/backend'
import { Rng } from '@nasjs/core'
import { saveModel } from '@nasjs/models/node'
import * as tf from '@tensorflow/tfjs-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { largestArch, smallestArch } from '../config.js'
import { ElasticMbv3 } from '../elastic.js'
import { exportSubnet, recalibrate } from '../subnet.js'
import { quadrants, TINY } from '../testing-internal/fixtures.js'
import { trainSupernet } from '../train.js'

const dir = mkdtempSync(join(tmpdir(), 'nas-supernet-export-'))
beforeAll(async () => {
  await initBackend({ quiet: true })
})
afterAll(() => rmSync(dir, { recursive: true, force: true }))

describe('an exported subnet', () => {
  it('loads in a fresh process with @tensorflow/tfjs alone and gives the outputs of the supernet on that subnet to 1e-5', async () => {
    const data = quadrants(64)
    const net = new ElasticMbv3({ ...TINY, seed: 8 })
    // trained a little, so that kernels, channels and BatchNorm statistics are not their initial values
    await trainSupernet(net, data, { epochs: 2, batchSize: 16 })
    const fixture = fileURLToPath(new URL('./__fixtures__/load-tfjs.mjs', import.meta.url))
    const archs = [largestArch(TINY), smallestArch(TINY), net.space.sample(new Rng(2))]
    for (const [i, arch] of archs.entries()) {
      const bn = recalibrate(net, arch, data, { images: 64 })
      const model = exportSubnet(net, arch, bn)
      const out = join(dir, `subnet-${i}`)
      await saveModel(model, out)
      model.dispose()
      // (seed i + 1: TF.js draws a random seed for seed 0, which made the inputs differ run to run)
      const x = tf.randomNormal([3, arch.resolution, arch.resolution, 1], 0, 1, 'float32', i + 1)
      const inputs = join(dir, `inputs-${i}.json`)
      writeFileSync(inputs, JSON.stringify({ shape: x.shape, values: Array.from(x.dataSync()) }))
      // the supernet on the backend the fresh process uses (wasm and cpu differ in the last bits)
      const backend = tf.getBackend()
      await tf.setBackend('cpu')
      const y = net.forward(arch, x as tf.Tensor4D, { bn })
      const ours = Array.from(y.dataSync())
      tf.dispose([x, y])
      await tf.setBackend(backend)
      const r = spawnSync(process.execPath, [fixture, out, inputs], { encoding: 'utf8' })
      expect(r.status, r.stderr).toBe(0)
      const theirs = JSON.parse(r.stdout) as number[]
      expect(theirs).toHaveLength(ours.length)
      const scale = Math.max(1, ...ours.map(Math.abs))
      expect(Math.max(...theirs.map((v, k) => Math.abs(v - ours[k]!))) / scale).toBeLessThan(1e-5)
    }
    net.dispose()
  }, 120_000)
})
