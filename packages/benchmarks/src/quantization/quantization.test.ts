import { kendallTau } from '@nasjs/core'
import { describe, expect, it } from 'vitest'

import { loadNb201 } from '../node/nb201.js'
import { loadQuantizationTable } from '../node/quantization.js'
import { parseQuantizationTable } from './quantization.js'

describe('NATS-Bench-MCU quantization table', () => {
  const bench = loadNb201()
  const q = loadQuantizationTable({ nb201: bench })

  it('holds 100 NB201 architectures with FP32 and INT8 accuracy (percent)', () => {
    expect(q.records.length).toBe(100)
    expect(q.records.filter((r) => r.cratered).length).toBe(2)
    for (const r of q.records) {
      expect(r.archStr).toBe(bench.archStrAt(r.index))
      expect(r.deltaPp).toBeCloseTo(r.fp32Acc - r.int8Acc, 1)
      expect(r.fp32Acc).toBeGreaterThanOrEqual(0)
      expect(r.fp32Acc).toBeLessThanOrEqual(100)
    }
    expect(q.byIndex(10322)!.int8Acc).toBeCloseTo(33.19, 6)
    expect(q.byIndex(0)).toBeUndefined()
  })

  it("quotes NATS-Bench's CIFAR-10 accuracy consistently with the NB201 table", () => {
    const quoted = q.records.map((r) => r.natsCifar10)
    const table = q.records.map((r) => bench.query(r.index, 'cifar10').test_acc!)
    expect(Math.max(...quoted.map((v, i) => Math.abs(v - table[i]!)))).toBeLessThan(1.5)
    expect(kendallTau(quoted, table)).toBeGreaterThan(0.9)
  })

  it('rejects rows whose index and architecture disagree', () => {
    const text =
      'arch_idx,arch_str,nats_cifar10,fp32_acc,int8_acc,delta_pp,cratered\n' +
      q.records.map((r, i) => `${i === 5 ? 0 : r.index},${r.archStr},${r.natsCifar10},0.5,0.5,0,0`).join('\n')
    expect(() => parseQuantizationTable(text, 'q.csv', bench)).toThrow(
      /row 6: arch_str .* is not NB201 index 0/,
    )
    expect(() => parseQuantizationTable(text.split('\n').slice(0, 50).join('\n'), 'q.csv')).toThrow(
      /wrong row count/,
    )
  })
})
