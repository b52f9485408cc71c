import { describe, expect, it } from 'vitest'
import { describeSpaceConformance } from '../testing-internal/conformance.js'
import { readGzLines } from '../testing-internal/data.js'
import { FBNET_OPS, fbnet, fbnetFromOpIndices, fbnetToOpIndices, formatFbnet, parseFbnet } from './fbnet.js'

describeSpaceConformance(fbnet, { fixedDecisions: true, size: 9n ** 22n })

describe('fbnet space', () => {
  const rows = readGzLines('fbnet/help_fbnet_latency_27devices.csv.gz')

  it('uses the op names and order of the HELP FBNet latency table', () => {
    expect(rows[0]!.split(',').slice(0, 3)).toEqual(['fbnet_sample_index', 'op_idx_list', 'arch_str'])
    expect(rows.length - 1).toBe(5000)
    const seenOps = new Set<string>()
    for (const row of rows.slice(1)) {
      const [, idx, archStr] = row.split(',')
      const a = parseFbnet(archStr!)
      expect(formatFbnet(a)).toBe(archStr)
      expect(fbnetToOpIndices(a).join(' ')).toBe(idx)
      expect(fbnetFromOpIndices(idx!)).toEqual(a)
      expect(fbnet.check(a)).toBeUndefined()
      for (const op of a) seenOps.add(op)
    }
    expect([...seenOps].sort()).toEqual([...FBNET_OPS].sort())
  })

  it('rejects bad arch strings naming the layer and the allowed ops', () => {
    const ok = new Array(22).fill('skip').join(' ')
    expect(() => parseFbnet(ok.replace(/skip$/, 'k7_e6'))).toThrow(
      /FBNet layer 21: unknown op 'k7_e6'; expected 'k3_e1'/,
    )
    expect(() => parseFbnet('skip skip')).toThrow(/22 ops, got 2/)
    expect(() => fbnetFromOpIndices(new Array(22).fill(9) as number[])).toThrow(
      /op index 9 at layer 0; expected 0..8/,
    )
  })
})
