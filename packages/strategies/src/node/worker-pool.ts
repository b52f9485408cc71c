import { existsSync } from 'node:fs'
import { availableParallelism } from 'node:os'
import { isAbsolute, resolve } from 'node:path'
import { pathToFileURL } from 'node:url'
import { Worker } from 'node:worker_threads'
import { NasError } from '@nasjs/core'
import type { Evaluator, EvaluatorContext, Metrics } from '@nasjs/core'

/**
 * A CPU-bound evaluator given as a module and an export name, run in `worker_threads`.
 * The export is called as `fn(archJson, { fidelity, seed, report, signal })` in a worker, where
 * `archJson` is `space.toJSON(arch)` (workers receive structured-cloned data, not live objects);
 * it returns (or resolves to) the metrics.
 * @since 0.1.0
 * @category driver
 */
export interface WorkerEvaluatorSpec {
  /** A file path (absolute, or relative to the working directory) or a `file:` URL of an ES module. */
  readonly module: string | URL
  /** The export to call (default `default`). */
  readonly export?: string
  /** Pool size (default and maximum: the number of cores). */
  readonly workers?: number
  /**
   * When given, the export is a factory: each worker calls it once with these options (structured-
   * cloned: plain data only) and evaluates with the function it returns or resolves to. This is how
   * a worker loads its own data and backend once, not per architecture.
   */
  readonly options?: unknown
}

/**
 * A pool of workers that evaluates architectures with a {@link WorkerEvaluatorSpec}.
 * @since 0.1.0
 * @category driver
 */
export interface WorkerPool<A> {
  readonly evaluator: Evaluator<A>
  readonly size: number
  /** Resolves when the module loaded in a worker; rejects with `CONFIG_INVALID` when it or its export is missing. */
  ready(): Promise<void>
  /** Terminates the workers. */
  close(): Promise<void>
}

const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads')
let fn
let current
const load = import(workerData.url).then(
  async (m) => {
    fn = m[workerData.exportName]
    if (typeof fn !== 'function') {
      parentPort.postMessage({ type: 'load-error', message: 'no function export ' + JSON.stringify(workerData.exportName), exports: Object.keys(m) })
      return
    }
    if (workerData.factory) {
      try {
        fn = await fn(workerData.options)
      } catch (e) {
        fn = undefined
        parentPort.postMessage({ type: 'load-error', message: String((e && e.message) || e), exports: [] })
        return
      }
      if (typeof fn !== 'function') {
        parentPort.postMessage({ type: 'load-error', message: 'the factory ' + JSON.stringify(workerData.exportName) + ' did not return a function', exports: [] })
        return
      }
    }
    parentPort.postMessage({ type: 'ready' })
  },
  (e) => parentPort.postMessage({ type: 'load-error', message: String((e && e.message) || e), exports: [] }),
)
parentPort.on('message', async (msg) => {
  await load
  const ac = new AbortController()
  current = ac
  try {
    if (typeof fn !== 'function') throw new Error('evaluator module failed to load')
    const ctx = { signal: ac.signal, report: (step, metrics) => parentPort.postMessage({ type: 'report', id: msg.id, step, metrics }) }
    if (msg.fidelity !== undefined) ctx.fidelity = msg.fidelity
    if (msg.seed !== undefined) ctx.seed = msg.seed
    const metrics = await fn(msg.arch, ctx)
    parentPort.postMessage({ type: 'result', id: msg.id, metrics })
  } catch (e) {
    parentPort.postMessage({ type: 'error', id: msg.id, message: String((e && e.message) || e) })
  }
})
`

interface Task {
  readonly id: number
  readonly arch: unknown
  readonly ctx: EvaluatorContext
  resolve(m: Metrics): void
  reject(e: unknown): void
}

interface WorkerMessage {
  readonly type: 'ready' | 'load-error' | 'report' | 'result' | 'error'
  readonly id?: number
  readonly metrics?: Metrics
  readonly message?: string
  readonly step?: number
  readonly exports?: string[]
}

interface Slot {
  worker: Worker
  task: Task | undefined
}

function moduleUrl(m: string | URL): string {
  if (m instanceof URL) return m.href
  if (m.startsWith('file:')) return m
  const p = isAbsolute(m) ? m : resolve(m)
  if (!existsSync(p)) {
    throw new NasError({
      code: 'CONFIG_INVALID',
      message: `evaluator module ${p} does not exist`,
      value: m,
      path: [p],
    })
  }
  return pathToFileURL(p).href
}

/**
 * Starts a pool of `worker_threads` running a CPU-bound evaluator module; each worker evaluates one
 * architecture at a time. An evaluation whose signal aborts is cancelled (a running one by
 * terminating and replacing its worker); a worker that crashes fails its trial and is replaced.
 *
 * @example
 * ```ts
 * const pool = createWorkerPool({ module: './my-evaluator.mjs', export: 'evaluate', workers: 4 }, (a) => nb201.toJSON(a))
 * await pool.ready()
 * const metrics = await pool.evaluator(arch, { signal, report: () => {} })
 * await pool.close()
 * ```
 * @since 0.1.0
 * @category driver
 */
export function createWorkerPool<A>(spec: WorkerEvaluatorSpec, toJSON: (a: A) => unknown): WorkerPool<A> {
  const url = moduleUrl(spec.module)
  const exportName = spec.export ?? 'default'
  const cores = availableParallelism()
  const requested = spec.workers ?? cores
  if (!Number.isInteger(requested) || requested < 1) {
    throw new NasError({
      code: 'CONFIG_INVALID',
      message: `workers must be a positive integer, got ${String(requested)}`,
      value: requested,
    })
  }
  const size = Math.min(requested, cores)
  const queue: Task[] = []
  let nextTask = 0
  let closed = false
  let readyResolve: () => void = () => {}
  let readyReject: (e: unknown) => void = () => {}
  const readyP = new Promise<void>((res, rej) => {
    readyResolve = res
    readyReject = rej
  })
  readyP.catch(() => {})

  const attach = (slot: Slot): void => {
    const worker = new Worker(WORKER_SOURCE, {
      eval: true,
      workerData: { url, exportName, factory: spec.options !== undefined, options: spec.options },
    })
    slot.worker = worker
    worker.on('message', (msg: WorkerMessage) => {
      if (msg.type === 'ready') return readyResolve()
      if (msg.type === 'load-error') {
        const exports = msg.exports ?? []
        return readyReject(
          new NasError({
            code: 'CONFIG_INVALID',
            message: `evaluator module ${url}: ${msg.message ?? 'failed to load'}${exports.length > 0 ? `; its exports are ${exports.join(', ')}` : ''}`,
            value: exportName,
            allowed: exports,
          }),
        )
      }
      const t = slot.task
      if (t === undefined || msg.id !== t.id) return
      if (msg.type === 'report') return t.ctx.report(msg.step!, msg.metrics!)
      slot.task = undefined
      if (msg.type === 'result') t.resolve(msg.metrics!)
      else t.reject(new Error(msg.message))
      pump()
    })
    const crashed = (e: Error): void => {
      const t = slot.task
      slot.task = undefined
      readyReject(
        new NasError({ code: 'CONFIG_INVALID', message: `evaluator worker failed: ${e.message}`, cause: e }),
      )
      replace(slot)
      t?.reject(e)
    }
    worker.on('error', crashed)
    worker.on('exit', (code) => {
      if (!closed && slot.worker === worker) crashed(new Error(`evaluator worker exited with code ${code}`))
    })
  }

  const slots: Slot[] = Array.from({ length: size }, () => {
    const s: Slot = { worker: undefined as unknown as Worker, task: undefined }
    attach(s)
    return s
  })

  function replace(slot: Slot): void {
    const old = slot.worker
    old.removeAllListeners()
    void old.terminate()
    if (closed) return
    attach(slot)
    pump()
  }

  function pump(): void {
    for (const slot of slots) {
      if (slot.task !== undefined) continue
      const t = queue.shift()
      if (t === undefined) return
      slot.task = t
      slot.worker.postMessage({
        id: t.id,
        arch: t.arch,
        ...(t.ctx.fidelity === undefined ? {} : { fidelity: t.ctx.fidelity }),
        ...(t.ctx.seed === undefined ? {} : { seed: t.ctx.seed }),
      })
    }
  }

  const evaluator: Evaluator<A> = (arch, ctx) =>
    new Promise<Metrics>((resolveP, rejectP) => {
      if (closed) return rejectP(new NasError({ code: 'ABORTED', message: 'the worker pool is closed' }))
      if (ctx.signal.aborted) return rejectP(new NasError({ code: 'ABORTED', message: 'aborted' }))
      const task: Task = { id: nextTask++, arch: toJSON(arch), ctx, resolve: resolveP, reject: rejectP }
      const onAbort = (): void => {
        const qi = queue.indexOf(task)
        if (qi >= 0) queue.splice(qi, 1)
        const slot = slots.find((s) => s.task === task)
        if (slot !== undefined) {
          slot.task = undefined
          replace(slot)
        }
        rejectP(new NasError({ code: 'ABORTED', message: 'evaluation aborted' }))
      }
      ctx.signal.addEventListener('abort', onAbort, { once: true })
      const done = (): void => ctx.signal.removeEventListener('abort', onAbort)
      task.resolve = (m) => {
        done()
        resolveP(m)
      }
      task.reject = (e) => {
        done()
        rejectP(e instanceof Error ? e : new Error(String(e)))
      }
      queue.push(task)
      pump()
    })

  return {
    evaluator,
    size,
    ready: () => readyP,
    async close() {
      closed = true
      for (const t of queue.splice(0))
        t.reject(new NasError({ code: 'ABORTED', message: 'the worker pool is closed' }))
      await Promise.all(
        slots.map((s) => {
          s.worker.removeAllListeners()
          return s.worker.terminate()
        }),
      )
    },
  }
}
