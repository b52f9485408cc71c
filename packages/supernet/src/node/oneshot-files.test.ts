import { mkdtempSync, readdirSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { initBackend } from '@nasjs/backend'
import { beforeAll, describe, expect, it } from 'vitest'
import { CellSupernet } from '../oneshot/cell-supernet.js'
import { searchCell, type OneShotState } from '../oneshot/search.js'
import { caught, quadrants } from '../testing-internal/fixtures.js'
import { loadOneShotState, readOneShotHeader, saveOneShotState } from './oneshot-files.js'

beforeAll(async () => {
  await initBackend({ quiet: true })
})

describe('one-shot search directories', () => {
  it('save and load round-trip a checkpoint, keep one binary, and refuse a changed one', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'nasjs-oneshot-'))
    const net = new CellSupernet({ channels: 2, cellsPerStage: 1, inputShape: [16, 16, 1], classes: 4 })
    const states: OneShotState[] = []
    await searchCell(
      net,
      quadrants(32, 1),
      quadrants(32, 2),
      { epochs: 2, batchSize: 16 },
      {
        onCheckpoint: (s) => {
          states.push(s)
          saveOneShotState(dir, s, { note: 'x' })
        },
      },
    )
    net.dispose()
    const last = states.at(-1)!
    const loaded = loadOneShotState(dir)
    const { header, ...state } = loaded
    expect(state).toEqual(last)
    expect(header.extra).toEqual({ note: 'x' })
    expect(readdirSync(dir).filter((f) => f.endsWith('.bin'))).toEqual([`oneshot-${last.step}.bin`])
    writeFileSync(join(dir, header.bin.file), Buffer.alloc(header.bin.bytes))
    const e = caught(() => loadOneShotState(dir))
    expect(e).toMatchObject({ code: 'DATA_CORRUPT' })
    expect(caught(() => readOneShotHeader(join(dir, 'nothing')))).toMatchObject({ code: 'DATA_MISSING' })
  })

  it("keeps a method's other weight sets (RARTS's validation network, SD-DARTS's teachers)", async () => {
    const dir = mkdtempSync(join(tmpdir(), 'nasjs-oneshot-'))
    const net = new CellSupernet({ channels: 2, cellsPerStage: 1, inputShape: [16, 16, 1], classes: 4 })
    let last: OneShotState | undefined
    await searchCell(
      net,
      quadrants(32, 1),
      quadrants(32, 2),
      { method: 'rarts', teachers: 1, epochs: 2, batchSize: 16 },
      {
        onCheckpoint: (s) => {
          last = s
          saveOneShotState(dir, s)
        },
      },
    )
    net.dispose()
    const names = last!.aux!.map((a) => a.name.split('/')[0])
    expect(new Set(names)).toEqual(new Set(['y', 'y-momentum', 'teacher']))
    const { header: _h, ...state } = loadOneShotState(dir)
    expect(state).toEqual(last)
  })
})
