/**
 * The three `.wasm` builds `@tensorflow/tfjs-backend-wasm` ships.
 *
 * @since 0.1.0
 * @category backends
 */
export const WASM_BINARIES = [
  'tfjs-backend-wasm.wasm',
  'tfjs-backend-wasm-simd.wasm',
  'tfjs-backend-wasm-threaded-simd.wasm',
] as const

/**
 * Node's built-in modules without a static `node:` import (the package also loads in browsers).
 *
 * @internal
 */
export function nodeBuiltins():
  | { fs: typeof import('node:fs'); module: typeof import('node:module'); path: typeof import('node:path') }
  | undefined {
  const proc = globalThis.process
  if (typeof proc?.getBuiltinModule !== 'function') return undefined
  return {
    fs: proc.getBuiltinModule('node:fs'),
    module: proc.getBuiltinModule('node:module'),
    path: proc.getBuiltinModule('node:path'),
  }
}

/**
 * The folder (with a trailing slash) that holds the installed `@tensorflow/tfjs-backend-wasm`
 * binaries, resolved through `node_modules` (`createRequire(import.meta.url).resolve`) so nothing is
 * ever fetched from the network; `undefined` outside Node or when the binaries cannot be found.
 *
 * @since 0.1.0
 * @category backends
 */
export function wasmBinaryFolder(): string | undefined {
  const node = nodeBuiltins()
  if (node === undefined) return undefined
  try {
    const require = node.module.createRequire(import.meta.url)
    const pkg = require.resolve('@tensorflow/tfjs-backend-wasm/package.json')
    const dist = node.path.join(node.path.dirname(pkg), 'dist')
    return WASM_BINARIES.every((f) => node.fs.existsSync(node.path.join(dist, f))) ? `${dist}/` : undefined
  } catch {
    return undefined
  }
}
