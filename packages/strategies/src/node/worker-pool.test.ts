import { availableParallelism } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { nb201 } from '@nasjs/search-space'
import { describe, expect, it } from 'vitest'
import { make } from '../testing-internal/drive.js'
import { runSearch } from '../driver/run-search.js'
import { createWorkerPool } from './worker-pool.js'

const here = dirname(fileURLToPath(import.meta.url))
const fixture = join(here, '__fixtures__', 'cpu-evaluator.mjs')
const never = new AbortController().signal
const ctx = { signal: never, report: () => {} }

describe('worker_threads pool', () => {
  it('runs a CPU-bound module evaluator in workers (size <= cores)', async () => {
    const pool = createWorkerPool({ module: fixture, export: 'evaluate', workers: 64 }, (a: string[]) => a)
    try {
      await pool.ready()
      expect(pool.size).toBe(Math.min(64, availableParallelism()))
      const a = ['nor_conv_3x3', 'none', 'skip_connect', 'none', 'none', 'avg_pool_3x3']
      const m = await pool.evaluator(a, { ...ctx, fidelity: 3, seed: 9 })
      expect(m).toMatchObject({ convs: 1, fidelity: 3, seed: 9 })
      expect(m.threadId).toBeGreaterThan(0) // not the main thread
    } finally {
      await pool.close()
    }
  })

  it('calls a factory export once per worker with the options, then evaluates with what it returns', async () => {
    const pool = createWorkerPool(
      { module: fixture, export: 'scaled', workers: 1, options: { scale: 7 } },
      (a: string[]) => a,
    )
    try {
      await pool.ready()
      const a = ['nor_conv_3x3', 'none', 'skip_connect', 'none', 'none', 'avg_pool_3x3']
      const m1 = await pool.evaluator(a, ctx)
      const m2 = await pool.evaluator(a, ctx)
      expect(m1).toMatchObject({ convs: 1, scale: 7 })
      expect(m2.loadedOnce).toBe(m1.loadedOnce) // one factory call, two evaluations
    } finally {
      await pool.close()
    }
  })

  it('a factory that throws rejects ready() with CONFIG_INVALID and its message', async () => {
    const pool = createWorkerPool(
      { module: fixture, export: 'scaled', workers: 1, options: { fail: 'no data' } },
      (a: unknown) => a,
    )
    try {
      await expect(pool.ready()).rejects.toMatchObject({
        code: 'CONFIG_INVALID',
        message: expect.stringContaining('cannot start: no data'),
      })
    } finally {
      await pool.close()
    }
  })

  it('serves runSearch as its evaluator, and failures become failed trials', async () => {
    const pool = createWorkerPool({ module: fixture, export: 'evaluate', workers: 2 }, (a: unknown) => a)
    await pool.ready()
    const r = await runSearch({
      space: nb201,
      strategy: make('random', nb201, {}, 1, [{ name: 'acc', direction: 'max' }]),
      evaluator: pool.evaluator,
      concurrency: pool.size,
      objectives: ['acc:max'],
      budget: { trials: 30 },
    }).finally(() => pool.close())
    expect(r.trials).toHaveLength(30)
    const failed = r.trials.filter((t) => t.outcome?.status === 'failed')
    expect(failed.length).toBe(
      r.trials.filter((t) => t.arch.every((op) => op === 'none') || t.arch[0] === 'avg_pool_3x3').length,
    )
    for (const t of failed) expect(t.outcome).toMatchObject({ reason: expect.stringMatching(/pool first/) })
  })

  it('names the exports when the export is missing, and a missing module', async () => {
    const pool = createWorkerPool({ module: fixture, export: 'nope', workers: 1 }, (a: unknown) => a)
    await expect(pool.ready()).rejects.toMatchObject({
      code: 'CONFIG_INVALID',
      message: expect.stringMatching(/evaluate/),
    })
    await pool.close()
    expect(() => createWorkerPool({ module: join(here, 'missing.mjs') }, (a: unknown) => a)).toThrow(
      /does not exist/,
    )
  })

  it('cancels a running evaluation on abort by replacing its worker', async () => {
    const pool = createWorkerPool({ module: fixture, export: 'spin', workers: 1 }, (a: unknown) => a)
    try {
      await pool.ready()
      const ctl = new AbortController()
      const p = pool.evaluator({ ms: 10_000 }, { signal: ctl.signal, report: () => {} })
      setTimeout(() => ctl.abort(), 50)
      await expect(p).rejects.toMatchObject({ code: 'ABORTED' })
      // the replacement worker still works
      expect(await pool.evaluator({ ms: 1 }, ctx)).toMatchObject({ spun: 1 })
    } finally {
      await pool.close()
    }
  })
})
