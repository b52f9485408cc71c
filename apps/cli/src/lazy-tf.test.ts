import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import type { Io } from './context.js'

// TF.js keeps its engine on the global object from the moment tfjs-core is evaluated.
const tfLoaded = (): boolean => (globalThis as { _tfengine?: unknown })._tfengine !== undefined

describe('the CLI loads TF.js only for what needs it', () => {
  it('--help, strategies and a table search with a builtin strategy load none', async () => {
    const { buildProgram } = await import('./program.js')
    const out: string[] = []
    const io: Io = {
      out: (s) => out.push(s),
      err: { write: () => true } as unknown as NodeJS.WriteStream,
    }
    await expect(buildProgram(io).parseAsync(['node', 'nas', '--help'])).rejects.toMatchObject({
      code: 'commander.helpDisplayed',
    })
    await buildProgram(io).parseAsync(['node', 'nas', 'strategies', '--json'])
    expect(out.join('\n')).toContain('bananas')
    const dir = mkdtempSync(join(tmpdir(), 'nasjs-lazy-'))
    try {
      const run = ['search', '--strategy', 'random', '--budget', '20', '--out', join(dir, 'r'), '--json']
      await buildProgram(io).parseAsync(['node', 'nas', ...run])
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
    expect(JSON.parse(out.at(-1)!)).toMatchObject({ ok: true, trials: 20 })
    expect(tfLoaded()).toBe(false)
  })
})
