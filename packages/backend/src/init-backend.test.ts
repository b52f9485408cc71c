import * as tf from '@tensorflow/tfjs-core'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { isNasError, type NasError } from '@nasjs/core'
import {
  BACKEND_ENV,
  describeBackend,
  formatBackendInfo,
  initBackend,
  usableBackends,
  type BackendInfo,
} from './init-backend.js'
import { hasWasmTrainingKernels } from './kernels/register.js'
import { wasmBinaryFolder } from './wasm-paths.js'

const saved = process.env[BACKEND_ENV]
beforeEach(() => {
  delete process.env[BACKEND_ENV]
})
afterEach(() => {
  if (saved === undefined) delete process.env[BACKEND_ENV]
  else process.env[BACKEND_ENV] = saved
})

async function caught(p: Promise<unknown>): Promise<unknown> {
  try {
    await p
  } catch (e) {
    return e
  }
  throw new Error('expected a rejection')
}

describe('initBackend', () => {
  it('picks the fastest backend that loads and says why the faster ones did not', async () => {
    const usable = await usableBackends()
    const info = await initBackend({ quiet: true })
    expect(info.name).toBe(usable[0])
    expect(tf.getBackend()).toBe(info.tfName)
    expect(info.tried[info.tried.length - 1]).toEqual({ name: info.name, ok: true })
    expect(info.trainingKernels).toBe(info.name === 'wasm')
    expect(hasWasmTrainingKernels()).toBe(info.name === 'wasm')
    // Where tfjs-node's native binding is missing (an optionalDependency whose download failed), the
    // reason says so and how to fix it; wasm is then the single-threaded SIMD build (see README).
    const fellThrough = info.tried.filter((t) => !t.ok)
    expect(fellThrough.map((t) => t.name)).toEqual(['node', 'wasm', 'cpu'].slice(0, fellThrough.length))
    expect(fellThrough.every((t) => info.reason.includes(`${t.name} not available`))).toBe(true)
    expect(
      fellThrough.filter((t) => t.name === 'node').every((t) => /approve-builds/.test(t.error ?? '')),
    ).toBe(true)
    expect(info.name !== 'wasm' || (info.simd && info.threads === 1)).toBe(true)
  })

  it('is idempotent', async () => {
    const a = await initBackend({ quiet: true })
    const b = await initBackend({ quiet: true })
    expect(b).toBe(a)
    expect(describeBackend()).toBe(a)
  })

  it('obeys NASJS_BACKEND over prefer, and switches back', async () => {
    process.env[BACKEND_ENV] = 'cpu'
    const cpu = await initBackend({ prefer: 'wasm', quiet: true })
    expect(cpu).toMatchObject({ name: 'cpu', tfName: 'cpu', reason: 'forced by NASJS_BACKEND=cpu' })
    expect(tf.getBackend()).toBe('cpu')
    delete process.env[BACKEND_ENV]
    const wasm = await initBackend({ prefer: 'wasm', quiet: true })
    expect(wasm).toMatchObject({ name: 'wasm', reason: "forced by prefer: 'wasm'" })
    expect(tf.getBackend()).toBe('wasm')
  })

  it('rejects an unknown NASJS_BACKEND with the allowed values', async () => {
    process.env[BACKEND_ENV] = 'gpu'
    const e = await caught(initBackend({ quiet: true }))
    expect(isNasError(e)).toBe(true)
    expect(e).toMatchObject({ code: 'CONFIG_INVALID', value: 'gpu', allowed: ['node', 'wasm', 'cpu'] })
    expect((e as Error).message).toMatch(/NASJS_BACKEND='gpu'.*'node', 'wasm' or 'cpu'/)
  })

  it('rejects bad options', async () => {
    const bad = await caught(initBackend({ prefer: 'tpu' } as never))
    expect(bad).toMatchObject({ code: 'CONFIG_INVALID', path: ['prefer'] })
    const extra = await caught(initBackend({ quite: true } as never))
    expect(extra).toMatchObject({ code: 'CONFIG_INVALID' })
  })

  it('fails clearly when an explicit backend cannot load, listing the ones that can', async () => {
    const usable = await usableBackends()
    const pattern =
      /backend 'node' \(prefer: 'node'\) cannot load: .*tfjs-node.*Available here: 'wasm' or 'cpu'/
    const forced = await initBackend({ prefer: 'node', quiet: true }).then(
      (info) => ({ loaded: info.name }),
      (e: NasError) => ({
        code: e.code,
        value: e.value,
        allowed: e.allowed,
        message: pattern.test(e.message),
      }),
    )
    // Either tfjs-node loads here, or the error names it and lists what can load.
    expect(forced).toEqual(
      usable.includes('node')
        ? { loaded: 'node' }
        : { code: 'BACKEND', value: 'node', allowed: usable, message: true },
    )
    // The previous backend stays usable.
    expect((await initBackend({ quiet: true })).name).toBe(usable[0])
  })

  it('prints one line unless quiet', async () => {
    const lines: string[] = []
    const original = console.error
    console.error = (...a: unknown[]) => void lines.push(a.join(' '))
    try {
      process.env[BACKEND_ENV] = 'cpu'
      await initBackend()
    } finally {
      console.error = original
    }
    expect(
      lines.filter((l) => l.startsWith('[nasjs] backend cpu (1 thread): forced by NASJS_BACKEND=cpu')),
    ).toHaveLength(1)
  })
})

describe('formatBackendInfo', () => {
  it('names the backend, its build and the reason', () => {
    const info: BackendInfo = {
      name: 'wasm',
      tfName: 'wasm',
      reason: 'because',
      threads: 2,
      simd: true,
      trainingKernels: true,
      tried: [],
    }
    expect(formatBackendInfo(info)).toBe('backend wasm (simd, 2 threads): because')
  })
})

describe('wasmBinaryFolder', () => {
  it('finds the installed binaries in node_modules', () => {
    expect(wasmBinaryFolder()).toMatch(/tfjs-backend-wasm\/dist\/$/)
  })
})
