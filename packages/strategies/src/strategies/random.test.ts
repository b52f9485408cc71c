import { nb201 } from '@nasjs/search-space'
import { describe, expect, it } from 'vitest'
import { drive, make, obj } from '../testing-internal/drive.js'
import { gridSpace } from '../testing/index.js'

describe('random search', () => {
  it('samples every option about equally often', () => {
    const space = gridSpace(2, 4)
    const s = make('random', space, {}, 1, [obj('acc')], false) // 4,000 draws from 16: repeats wanted
    const counts = new Array<number>(4).fill(0)
    drive(s, () => ({ acc: 1 }), 4000).forEach((p) => counts[p.arch[0]!]!++)
    for (const c of counts) expect(Math.abs(c - 1000)).toBeLessThan(120)
  })

  it('recommends the best told architecture', () => {
    const s = make('random', nb201)
    const ps = drive(s, (a) => ({ acc: a.filter((op) => op === 'nor_conv_3x3').length }), 200)
    const best = Math.max(...ps.map((p) => p.arch.filter((op) => op === 'nor_conv_3x3').length))
    expect(s.recommend()!.filter((op) => op === 'nor_conv_3x3').length).toBe(best)
  })
})
