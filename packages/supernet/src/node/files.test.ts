import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { initBackend } from '@nasjs/backend'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ElasticMbv3 } from '../elastic.js'
import { caught, quadrants, TINY } from '../testing-internal/fixtures.js'
import type { SupernetTrainState } from '../train.js'
import { trainSupernet } from '../train.js'
import { loadSupernet, loadSupernetState, saveSupernetState, SUPERNET_BIN } from './files.js'

const dir = mkdtempSync(join(tmpdir(), 'nas-supernet-'))
beforeAll(async () => {
  await initBackend({ quiet: true })
})
afterAll(() => rmSync(dir, { recursive: true, force: true }))

describe('supernet directories', () => {
  it('save and load a training state exactly, teacher and momentum included', async () => {
    const net = new ElasticMbv3(TINY)
    let state: SupernetTrainState | undefined
    await trainSupernet(
      net,
      quadrants(32),
      { epochs: 4, batchSize: 16 },
      {
        maxSteps: 5,
        onCheckpoint: (s) => {
          state = s
        },
      },
    )
    const out = join(dir, 'a')
    saveSupernetState(out, state!)
    const back = loadSupernetState(out)
    expect(back.step).toBe(state!.step)
    expect(back.teacher?.length).toBe(state!.teacher?.length)
    expect(back.weights.map((w) => [w.name, Array.from(w.values)])).toEqual(
      state!.weights.map((w) => [w.name, Array.from(w.values)]),
    )
    expect(back.momentum.map((m) => Array.from(m))).toEqual(state!.momentum.map((m) => Array.from(m)))
    const { net: loaded } = loadSupernet(out)
    expect(loaded.state().map((w) => Array.from(w.values))).toEqual(
      net.state().map((w) => Array.from(w.values)),
    )
    loaded.dispose()
    net.dispose()
  })

  it('names a missing or changed directory in one clear error', () => {
    const check = (f: () => unknown, code: string) =>
      expect(caught(f)).toMatchObject({ name: 'NasError', code })
    check(() => loadSupernet(join(dir, 'nothing')), 'DATA_MISSING')
    writeFileSync(join(dir, 'a', SUPERNET_BIN), 'changed')
    check(() => loadSupernet(join(dir, 'a')), 'DATA_CORRUPT')
  })
})
