import { fc, test } from '@fast-check/vitest'
import { Rng, parseLatencyTable, predictFromTable } from '@nasjs/core'
import { fbnet } from '@nasjs/search-space'
import { describe, expect, it } from 'vitest'

import { loadFbnet } from '../node/fbnet.js'
import { fbnetFromCsv, FBNET_SETTINGS } from './fbnet.js'
import { evaluateLatencyLuts, fitLatencyLut, fitLatencyLuts, latencyTableOfLut } from './lut.js'

const fb = loadFbnet()

describe('latency LUT', () => {
  const reports = evaluateLatencyLuts(fb, { seed: 0, testFraction: 0.2 })
  const by = Object.fromEntries(reports.map((r) => [r.setting, r]))

  it('reports R^2 and Kendall tau on 1,000 held-out architectures for all 27 settings', () => {
    expect(reports.map((r) => r.setting)).toEqual([...FBNET_SETTINGS])
    for (const r of reports) {
      expect(r.trainSize).toBe(4000)
      expect(r.testSize).toBe(1000)
      expect(r.r2).toBeLessThanOrEqual(1)
      expect(r.kendallTau).toBeGreaterThan(0.4)
    }
    // HW-NAS-Bench's FBNet latencies (eyeriss, fpga, pixel3, raspi4) are sums of per-layer entries: exact
    for (const s of ['eyeriss', 'fpga', 'pixel3', 'raspi4']) expect(by[s]!.r2).toBeGreaterThan(0.99999)
    // measured GPU latencies are close to additive
    for (const s of ['2080ti_64', 'titan_rtx_64', 'titanxp_64']) expect(by[s]!.r2).toBeGreaterThan(0.99)
    // phones report whole milliseconds: far from additive at this resolution
    expect(by['samsung_s7']!.r2).toBeLessThan(0.5)
  })

  it('predicts measured samples and treats skip as the zero reference', () => {
    const lut = fitLatencyLut(fb, 'pixel3')
    expect(lut.trainSize).toBe(5000)
    expect(lut.predict(fb.archAt(42))).toBeCloseTo(fb.latency(42, 'pixel3'), 3)
    expect(lut.predict(Array<number>(22).fill(8))).toBe(lut.bias)
    for (const row of lut.table) expect(row[8]).toBe(0)
    expect(() => fitLatencyLuts(fb, { train: [1, 2, 3] })).toThrow(/at least 177 training architectures/)
  })

  test.prop([fc.integer({ min: 0, max: 1000 })], { numRuns: 3 })(
    'recovers an exactly additive table',
    (seed) => {
      const rng = new Rng(seed)
      const table = Array.from({ length: 22 }, () =>
        Array.from({ length: 9 }, (_, o) => (o === 8 ? 0 : rng.uniformIn(0.1, 3))),
      )
      const bias = rng.uniformIn(1, 5)
      const rows = [
        'fbnet_sample_index,op_idx_list,arch_str,' + FBNET_SETTINGS.map((s) => `${s}_ms`).join(','),
      ]
      const names = ['k3_e1', 'k3_e1_g2', 'k3_e3', 'k3_e6', 'k5_e1', 'k5_e1_g2', 'k5_e3', 'k5_e6', 'skip']
      for (let i = 0; i < 5000; i++) {
        const ops = Array.from({ length: 22 }, () => rng.int(9))
        const lat = bias + ops.reduce((s, o, l) => s + table[l]![o]!, 0)
        rows.push(
          `${i},${ops.join(' ')},${ops.map((o) => names[o]).join(' ')},` +
            FBNET_SETTINGS.map(() => lat).join(','),
        )
      }
      const lut = fitLatencyLut(fbnetFromCsv(rows.join('\n')), 'gold_6226')
      expect(lut.bias).toBeCloseTo(bias, 6)
      for (let l = 0; l < 22; l++)
        for (let o = 0; o < 9; o++) expect(lut.table[l]![o]).toBeCloseTo(table[l]![o]!, 6)
    },
  )
})

describe('a fitted LUT as a latency table', () => {
  it('predicts what the LUT predicts, keyed by layer and operation, and reads back as a table', () => {
    for (const [setting, device, batch] of [
      ['gold_6226', 'gold_6226', 1],
      ['essential_ph_1', 'essential_ph_1', 1],
    ] as const) {
      const t = latencyTableOfLut(fitLatencyLut(fb, setting))
      expect([t.device.name, t.setting.batch]).toEqual([device, batch])
    }
    for (const setting of ['pixel3', '1080ti_32']) {
      const lut = fitLatencyLut(fb, setting)
      const table = parseLatencyTable(JSON.parse(JSON.stringify(latencyTableOfLut(lut))))
      expect(table).toMatchObject({ space: 'fbnet', source: 'fitted', fit: { networks: 5000 } })
      expect(table.setting.batch).toBe(setting === 'pixel3' ? 1 : 32)
      expect(table.device.name).toBe(setting === 'pixel3' ? 'pixel3' : '1080ti')
      const rng = new Rng(4)
      for (let i = 0; i < 20; i++) {
        const arch = fbnet.sample(rng)
        const blocks = [
          { key: 'stem', count: 1 },
          ...arch.map((op, l) => ({ key: `layer${l}:${op}`, count: 1 })),
          { key: 'head', count: 1 },
        ]
        expect(predictFromTable(table, blocks)).toBeCloseTo(lut.predict(arch), 9)
      }
    }
  })
})
