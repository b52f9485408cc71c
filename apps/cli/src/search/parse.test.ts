import { isNasError } from '@nasjs/core'
import { describe, expect, it } from 'vitest'
import { takeMetricFiles } from './parse.js'

const errorOf = (f: () => unknown) => {
  try {
    f()
  } catch (e) {
    return e
  }
  return undefined
}

describe('metrics that name their file', () => {
  it('takes the table and the device out of objectives and constraints', () => {
    const r = takeMetricFiles(
      ['valid_acc:max', 'latency.lut:runs/lut v2.json:min', 'latency.help:C:\\dev\\phone.json:min'],
      ['latency.lut:runs/lut v2.json<=5', 'latency.help<=3', 'params<=1e6'],
      {},
    )
    expect(r.objectives).toEqual(['valid_acc:max', 'latency.lut:min', 'latency.help:min'])
    expect(r.constraints).toEqual(['latency.lut<=5', 'latency.help<=3', 'params<=1e6'])
    expect(r.files).toEqual({ lut: 'runs/lut v2.json', helpDevice: 'C:\\dev\\phone.json' })
    expect([...r.named].sort()).toEqual(['helpDevice', 'lut'])
  })

  it('leaves plain metrics, and the flags, as they are', () => {
    const r = takeMetricFiles(['latency.lut:min', 'latency.help:max'], undefined, { lut: 't.json' })
    expect(r.objectives).toEqual(['latency.lut:min', 'latency.help:max'])
    expect(r.constraints).toBeUndefined()
    expect(r.files).toEqual({ lut: 't.json' })
    expect(r.named.size).toBe(0)
    // no direction: the objective parser then asks for one
    expect(takeMetricFiles(['latency.lut:t.json'], undefined, {}).objectives).toEqual(['latency.lut'])
  })

  it('refuses two files for one metric, and an empty file name', () => {
    const two = errorOf(() => takeMetricFiles(['latency.lut:a.json:min'], ['latency.lut:b.json<=5'], {}))
    expect(isNasError(two) && two.code).toBe('CONFIG_INVALID')
    expect(String(two)).toMatch(/two files, a\.json and b\.json/)
    const flag = errorOf(() => takeMetricFiles(['latency.lut:a.json:min'], undefined, { lut: 'b.json' }))
    expect(isNasError(flag) && flag.code).toBe('CONFIG_INVALID')
    expect(takeMetricFiles(['latency.lut:a.json:min'], undefined, { lut: 'a.json' }).files.lut).toBe('a.json')
    const empty = errorOf(() => takeMetricFiles(['latency.lut: :min'], undefined, {}))
    expect(isNasError(empty) && empty.code).toBe('OBJECTIVE_INVALID')
  })
})
