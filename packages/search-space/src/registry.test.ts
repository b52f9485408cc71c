import { thrown } from './testing-internal/thrown.js'
import { describe, expect, it } from 'vitest'
import { builtinSpaceIds, builtinSpaces } from './builtins.js'
import { choice } from './dsl/constructors.js'
import { defineSpace } from './dsl/define.js'
import { createSpaceRegistry, getSpace } from './registry.js'

describe('space registry', () => {
  it('registers the nine built-in spaces under the CLI ids', () => {
    expect(builtinSpaceIds).toEqual([
      'nb201',
      'nb101',
      'darts',
      'ofa-mbv3',
      'fbnet',
      'transformer',
      'vit',
      'gnn',
      'quant-policy',
    ])
    expect(getSpace('nb201').size()).toBe(15625n)
    expect(createSpaceRegistry().ids()).toEqual([...builtinSpaceIds])
  })

  it('throws NOT_REGISTERED listing the known ids', () => {
    const err = thrown(() => getSpace('nb202'))
    expect(err.code).toBe('NOT_REGISTERED')
    expect(err.message).toContain("unknown search space 'nb202'")
    expect(err.allowed).toEqual([...builtinSpaceIds])
  })

  it('takes custom spaces and rejects duplicate ids', () => {
    const mine = defineSpace('mine', choice(['a', 'b']))
    const reg = createSpaceRegistry([...builtinSpaces, mine])
    expect(reg.has('mine')).toBe(true)
    expect(reg.get('mine').size()).toBe(2n)
    expect(reg.has('nope')).toBe(false)
    expect(() => createSpaceRegistry([mine, mine])).toThrow(
      expect.objectContaining({ code: 'DUPLICATE_NAME' }) as Error,
    )
  })

  it('every built-in space describes itself', () => {
    for (const s of builtinSpaces)
      expect(s.describe()).toMatch(new RegExp(`^${s.id}: .*(architectures|cells)`))
  })
})
