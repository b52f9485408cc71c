import { describe, expect, it } from 'vitest'

import { FBNET_OPS, fbnet } from '@nasjs/search-space'

import { loadFbnet } from '../node/fbnet.js'
import { FBNET_SETTINGS, parseFbnetArch } from './fbnet.js'

const fb = loadFbnet()

describe('FBNet latency table', () => {
  it('holds 5,000 architectures x 27 device settings', () => {
    expect(fb.size).toBe(5000)
    expect(FBNET_SETTINGS.length).toBe(27)
    for (const s of FBNET_SETTINGS) expect(fb.column(s).every((v) => v > 0)).toBe(true)
    expect(fb.archAt(0)).toEqual([7, 8, 1, 8, 4, 8, 8, 8, 7, 4, 1, 4, 7, 3, 2, 7, 3, 2, 4, 2, 4, 5])
    expect(fb.latency(0, 'pixel3')).toBeCloseTo(17.5577, 4)
    expect(fb.latency(1, '2080ti_64')).toBeCloseTo(10.2429, 4)
  })

  it('looks architectures up in every form', () => {
    const ops = fb.archAt(1234)
    expect(fb.indexOf(ops)).toBe(1234)
    expect(fb.indexOf(ops.map((k) => FBNET_OPS[k]!))).toBe(1234)
    expect(fb.indexOf(ops.map((k) => FBNET_OPS[k]!).join(' '))).toBe(1234)
    expect(fb.query(ops)['latency.titan_rtx_1']).toBe(fb.latency(1234, 'titan_rtx_1'))
    expect(Object.keys(fb.query(0)).length).toBe(27)
    expect(fb.indexOf(Array<number>(22).fill(8))).toBeUndefined()
    // the search space's FbnetArch (op names) is accepted as is
    const fromSpace = fb.archAt(77).map((k) => FBNET_OPS[k]!)
    expect(fbnet.validate(fromSpace)).toEqual(fromSpace)
    expect(fb.indexOf(fbnet.validate(fromSpace))).toBe(77)
  })

  it('rejects unknown settings, bad architectures and unmeasured ones', () => {
    expect(() => fb.column('tpu_v4')).toThrow(/unknown FBNet device setting 'tpu_v4'/)
    expect(() => parseFbnetArch([1, 2, 3])).toThrow(/22 layers; got 3/)
    expect(() => parseFbnetArch(Array<string>(22).fill('k7_e6'))).toThrow(/layer 0 has op 'k7_e6'/)
    expect(() => parseFbnetArch(Array<number>(22).fill(9))).toThrow(/expected an index 0..8/)
    expect(() => fb.latency(Array<number>(22).fill(8), 'pixel3')).toThrow(
      /not among the 5000 measured samples/,
    )
    expect(() => fb.latency(5000, 'pixel3')).toThrow(/outside 0..4999/)
  })
})
