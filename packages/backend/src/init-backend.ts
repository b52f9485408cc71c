import * as tf from '@tensorflow/tfjs-core'
import { z } from 'zod'
import { NasError, formatAllowed } from '@nasjs/core'
import { registerWasmTrainingKernels } from './kernels/register.js'
import { wasmBinaryFolder } from './wasm-paths.js'

/**
 * The backends `@nasjs/backend` chooses between, fastest first: `node` (`@tensorflow/tfjs-node`,
 * native libtensorflow), `wasm` (`@tensorflow/tfjs-backend-wasm`, XNNPACK, plus our training
 * kernels) and `cpu` (`@tensorflow/tfjs-backend-cpu`, plain JavaScript).
 *
 * @since 0.1.0
 * @category backends
 */
export const BackendName = z.enum(['node', 'wasm', 'cpu'])
/** @since 0.1.0 */
export type BackendName = z.infer<typeof BackendName>

/**
 * The order {@link initBackend} tries the backends in.
 *
 * @since 0.1.0
 * @category backends
 */
export const BACKEND_ORDER: readonly BackendName[] = BackendName.options

/**
 * The environment variable that forces a backend (`node`, `wasm` or `cpu`).
 *
 * @since 0.1.0
 * @category backends
 */
export const BACKEND_ENV = 'NASJS_BACKEND'

/**
 * Options of {@link initBackend}.
 *
 * @since 0.1.0
 * @category backends
 */
export const InitBackendOptions = z
  .object({
    /** Use this backend or fail with a `BACKEND` error (`NASJS_BACKEND` still wins). */
    prefer: BackendName.optional(),
    /**
     * Ask for the multi-threaded wasm build. Where it cannot run (Node: TF.js 4.22 starts its
     * workers from `blob:` URLs, which Node's `worker_threads` refuses) the single-threaded SIMD
     * build is used and `BackendInfo.threads` says 1.
     */
    threads: z.boolean().optional(),
    /** Do not print the choice to stderr. */
    quiet: z.boolean().optional(),
  })
  .strict()
/** @since 0.1.0 */
export type InitBackendOptions = z.input<typeof InitBackendOptions>

/**
 * One backend {@link initBackend} tried.
 *
 * @since 0.1.0
 * @category backends
 */
export interface BackendAttempt {
  readonly name: BackendName
  readonly ok: boolean
  /** Why it could not be used. */
  readonly error?: string
}

/**
 * The backend in use and why.
 *
 * @since 0.1.0
 * @category backends
 */
export interface BackendInfo {
  readonly name: BackendName
  /** The TF.js name of the backend (`tensorflow`, `wasm`, `cpu`). */
  readonly tfName: string
  /** A sentence for the user: why this one. */
  readonly reason: string
  /** Worker threads of the wasm backend (1 elsewhere: tfjs-node and cpu manage their own). */
  readonly threads: number
  /** Whether the wasm SIMD build runs (false for the other backends). */
  readonly simd: boolean
  /** Whether the wasm training kernels are registered (see `registerWasmTrainingKernels`). */
  readonly trainingKernels: boolean
  readonly tried: readonly BackendAttempt[]
}

const TF_NAME: Record<BackendName, string> = { node: 'tensorflow', wasm: 'wasm', cpu: 'cpu' }

const STATE = Symbol.for('@nasjs/backend:state')
type State = { info?: BackendInfo; pending?: Promise<BackendInfo> | undefined; key?: string | undefined }
const state = (): State => ((globalThis as { [STATE]?: State })[STATE] ??= {})

const message = (e: unknown): string => {
  const text = e instanceof Error ? e.message : typeof e === 'string' ? e : JSON.stringify(e)
  return (text.split('\n')[0] ?? '').trim()
}

/** Loads `@tensorflow/tfjs-node` and activates it; throws when its native binding is missing. */
async function loadNode(): Promise<void> {
  // The specifier goes through a variable so bundlers for the browser leave it alone.
  const specifier = '@tensorflow/tfjs-node'
  try {
    await import(/* @vite-ignore */ specifier)
  } catch (e) {
    throw new Error(
      `@tensorflow/tfjs-node did not load (${message(e)}); its install script downloads libtensorflow: ` +
        'run `pnpm approve-builds` (or `npm rebuild @tensorflow/tfjs-node`) where that download can succeed',
      { cause: e },
    )
  }
  if (!(await tf.setBackend(TF_NAME.node))) throw new Error('the tensorflow backend failed to initialise')
}

async function loadWasm(threads: boolean): Promise<{ threads: number; simd: boolean }> {
  const wasm = await import('@tensorflow/tfjs-backend-wasm')
  const folder = wasmBinaryFolder()
  const inNode = tf.env().getBool('IS_NODE')
  if (tf.findBackend('wasm') === null) {
    if (inNode && folder === undefined) {
      throw new Error('the @tensorflow/tfjs-backend-wasm binaries were not found in node_modules')
    }
    if (folder !== undefined) wasm.setWasmPaths(folder)
    if (!threads) tf.env().set('WASM_HAS_MULTITHREAD_SUPPORT', false)
  }
  registerWasmTrainingKernels('wasm')
  if (!(await tf.setBackend('wasm'))) throw new Error('the wasm backend failed to initialise')
  const simd = await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT')
  return { threads: wasm.getThreadsCount(), simd: simd === true }
}

async function loadCpu(): Promise<void> {
  await import('@tensorflow/tfjs-backend-cpu')
  if (!(await tf.setBackend('cpu'))) throw new Error('the cpu backend failed to initialise')
}

function readEnv(): BackendName | undefined {
  const raw = globalThis.process?.env?.[BACKEND_ENV]
  if (raw === undefined || raw.trim() === '') return undefined
  const parsed = BackendName.safeParse(raw.trim().toLowerCase())
  if (!parsed.success) {
    throw new NasError({
      code: 'CONFIG_INVALID',
      message: `${BACKEND_ENV}='${raw}' is not a backend; expected ${formatAllowed(BACKEND_ORDER)}`,
      value: raw,
      allowed: BACKEND_ORDER,
      path: [BACKEND_ENV],
    })
  }
  return parsed.data
}

function parseOptions(opts: unknown): z.output<typeof InitBackendOptions> {
  const parsed = InitBackendOptions.safeParse(opts ?? {})
  if (parsed.success) return parsed.data
  const issue = parsed.error.issues[0]!
  const path = issue.path.map((p) => (typeof p === 'symbol' ? String(p) : p))
  throw new NasError({
    code: 'CONFIG_INVALID',
    message: `initBackend options: ${path.join('.') || '(root)'}: ${issue.message}`,
    path,
    allowed: path[0] === 'prefer' ? BACKEND_ORDER : ['prefer', 'threads', 'quiet'],
  })
}

async function choose(
  forced: BackendName | undefined,
  source: string,
  threads: boolean,
): Promise<BackendInfo> {
  const tried: BackendAttempt[] = []
  const notes: string[] = []
  for (const name of forced === undefined ? BACKEND_ORDER : [forced]) {
    try {
      let info = { threads: 1, simd: false }
      if (name === 'node') await loadNode()
      else if (name === 'wasm') info = await loadWasm(threads)
      else await loadCpu()
      tried.push({ name, ok: true })
      const why =
        forced !== undefined
          ? `forced by ${source}`
          : name === 'node'
            ? 'native libtensorflow via @tensorflow/tfjs-node, the fastest'
            : name === 'wasm'
              ? `XNNPACK${info.simd ? ' SIMD' : ''} wasm with the nasjs training kernels`
              : 'plain JavaScript, the last resort'
      if (name === 'wasm' && threads && info.threads <= 1) {
        notes.push('threaded wasm is not available here, single thread')
      }
      const reason = [why, ...notes].join('; ')
      return {
        name,
        tfName: TF_NAME[name],
        reason,
        threads: info.threads,
        simd: info.simd,
        trainingKernels: name === 'wasm',
        tried,
      }
    } catch (e) {
      const error = message(e)
      tried.push({ name, ok: false, error })
      notes.push(`${name} not available: ${error}`)
    }
  }
  if (forced !== undefined) {
    const usable = await usableBackends()
    throw new NasError({
      code: 'BACKEND',
      message:
        `backend '${forced}' (${source}) cannot load: ${tried[0]?.error ?? 'unknown error'}. ` +
        `Available here: ${formatAllowed(usable)}`,
      value: forced,
      allowed: usable,
    })
  }
  throw new NasError({
    code: 'BACKEND',
    message: `no TF.js backend could load: ${notes.join('; ')}`,
    allowed: [],
  })
}

/**
 * The backends that can load in this process, fastest first, without switching to them
 * (`node`: the native binding resolves; `wasm`: the binaries are installed; `cpu`: always).
 *
 * @since 0.1.0
 * @category backends
 */
export async function usableBackends(): Promise<BackendName[]> {
  const out: BackendName[] = []
  if (tf.findBackend(TF_NAME.node) !== null) out.push('node')
  else {
    try {
      const specifier = '@tensorflow/tfjs-node'
      await import(/* @vite-ignore */ specifier)
      out.push('node')
    } catch {
      // not installed or its native binding is missing
    }
  }
  if (
    typeof (globalThis as { WebAssembly?: unknown }).WebAssembly === 'object' &&
    (!tf.env().getBool('IS_NODE') || wasmBinaryFolder() !== undefined)
  ) {
    out.push('wasm')
  }
  out.push('cpu')
  return out
}

/**
 * Picks, loads and activates the fastest TF.js backend that works here, registers the wasm training
 * kernels when wasm is chosen, prints the choice (unless `quiet`) and returns it: `node`
 * (`@tensorflow/tfjs-node`) where its native binding loads, else `wasm`, else `cpu`.
 * `NASJS_BACKEND=node|wasm|cpu` (or `prefer`) forces one; if that one cannot load this throws a
 * `NasError` with code `BACKEND` that lists the backends that can. Idempotent: later calls with the
 * same choice return the first result.
 *
 * @example
 * ```ts
 * import { initBackend } from '@nasjs/backend'
 * const info = await initBackend()
 * console.log(info.name, info.reason) // e.g. 'wasm', 'XNNPACK SIMD wasm with the nasjs training kernels; ...'
 * ```
 * @since 0.1.0
 * @category backends
 */
export async function initBackend(opts?: InitBackendOptions): Promise<BackendInfo> {
  const options = parseOptions(opts)
  const fromEnv = readEnv()
  const forced = fromEnv ?? options.prefer
  const source = fromEnv !== undefined ? `${BACKEND_ENV}=${fromEnv}` : `prefer: '${options.prefer}'`
  const key = `${forced ?? 'auto'}/${options.threads === true}`
  const s = state()
  if (s.key === key && s.pending !== undefined) {
    const info = await s.pending
    if (tf.getBackend() === info.tfName) return info
  }
  s.key = key
  s.pending = choose(forced, source, options.threads === true)
  try {
    const info = await s.pending
    s.info = info
    if (options.quiet !== true) console.error(`[nasjs] ${formatBackendInfo(info)}`)
    return info
  } catch (e) {
    s.pending = undefined
    s.key = undefined
    throw e
  }
}

/**
 * The backend {@link initBackend} chose, or a description of TF.js's current backend when it was
 * never called (reason `'not chosen by @nasjs/backend'`); `undefined` when TF.js has no backend.
 *
 * @since 0.1.0
 * @category backends
 */
export function describeBackend(): BackendInfo | undefined {
  const current = tf.engine().backendName as string | null
  const info = state().info
  if (info !== undefined && current === info.tfName) return info
  if (current === null || current === undefined) return undefined
  const name = (Object.keys(TF_NAME) as BackendName[]).find((k) => TF_NAME[k] === current)
  if (name === undefined) return undefined
  return {
    name,
    tfName: current,
    reason: 'not chosen by @nasjs/backend',
    threads: 1,
    simd: false,
    trainingKernels: false,
    tried: [],
  }
}

/**
 * One line for logs: `backend wasm (simd, 1 thread): <reason>`.
 *
 * @since 0.1.0
 * @category backends
 */
export function formatBackendInfo(info: BackendInfo): string {
  const bits = [info.simd ? 'simd' : undefined, `${info.threads} thread${info.threads === 1 ? '' : 's'}`]
  return `backend ${info.name} (${bits.filter((b) => b !== undefined).join(', ')}): ${info.reason}`
}
