import { describe, expect, it } from 'vitest'
import { Rng } from '@nasjs/core'
import { describeSpaceConformance } from '../testing-internal/conformance.js'
import { parseTransformer, parseVit, transformer, vit } from './transformer.js'

const perLayer = 4n * (3n * 2n + 3n * 2n + 3n * 3n) * (4n + 16n + 64n)
let flexSize = 0n
for (let l = 2n; l <= 12n; l++) flexSize += perLayer ** l
const perStage = 8n * 11n * 5n * 4n * 5n
describeSpaceConformance(transformer, { size: flexSize })
describeSpaceConformance(vit, { size: perStage + perStage ** 2n + perStage ** 3n + perStage ** 4n })

describe('transformer space', () => {
  it('round-trips its text form', () => {
    const text = 'h256/sa:4:sdp/ff1024,1024 | h128/c:2:9/ff512 | h768/l:8:dct/ff3072,512,2048'
    const a = parseTransformer(text)
    expect(a.layers[1]).toEqual({
      hidden: 128,
      attention: { option: 'c', value: { heads: 2, kernel: 9 } },
      ff: [512],
    })
    expect(transformer.format(a)).toBe(text)
    expect(transformer.check(a)).toBeUndefined()
  })

  it('rejects bad layers naming the field and allowed values', () => {
    expect(() => parseTransformer('h256/sa:4:sdp/ff1024 | h100/sa:4:sdp/ff1024')).toThrow(
      /layer 1 hidden size is '100'; expected 128, 256, 512 or 768/,
    )
    expect(() => parseTransformer('h256/sa:4:xyz/ff1024 | h128/c:2:9/ff512')).toThrow(/layer 0 sa type 'xyz'/)
    expect(() => parseTransformer('h256/sa:4:sdp/ff1024')).toThrow(/2..12 layers/)
    const a = parseTransformer('h256/sa:4:sdp/ff1024 | h128/c:2:9/ff512')
    const bad = {
      layers: [
        a.layers[0],
        { ...a.layers[1], attention: { option: 'c', value: { heads: 2, transform: 'dft' } } },
      ],
    }
    const e = transformer.check(bad)!
    expect(e.path).toEqual(['layers', 1, 'attention', 'value', 'transform'])
  })

  it('conditional decisions depend on the chosen attention type', () => {
    // layers.count, then layer 0 hidden, then layer 0 attention option
    const pre = [0, 0]
    expect(transformer.decisions.next(pre)).toMatchObject({
      name: 'layers[0].attention.option',
      labels: ['sa', 'l', 'c'],
    })
    expect(transformer.decisions.next([...pre, 0, 0])).toMatchObject({
      name: 'layers[0].attention.value.similarity',
    })
    expect(transformer.decisions.next([...pre, 2, 0])).toMatchObject({
      name: 'layers[0].attention.value.kernel',
      size: 3,
    })
  })

  it('keeps a constant encoding length over layer counts and attention types', () => {
    const rng = new Rng(2)
    const lens = new Set<number>()
    for (let i = 0; i < 30; i++) lens.add(transformer.encode(transformer.sample(rng), 'ordinal').length)
    expect([...lens]).toEqual([transformer.encodingLength('ordinal')])
  })
})

describe('vit space', () => {
  it('round-trips its text form and rejects bad stages', () => {
    const text = 'd2-e96-h2-r4-p4 | d2-e192-h4-r3.5-p2 | d6-e384-h8-r4-p2'
    expect(vit.format(parseVit(text))).toBe(text)
    expect(() => parseVit('d2-e100-h2-r4-p4')).toThrow(/stage 0 embedding dim is '100'/)
    expect(() => parseVit('d2-e96-h2-r4')).toThrow(/is not 'd<depth>/)
  })
})
