import { spawn, spawnSync, type SpawnSyncReturns } from 'node:child_process'
import { existsSync, mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'

/** The built CLI (the test task builds it first; see turbo.json). */
export const BIN = resolve(dirname(fileURLToPath(import.meta.url)), '..', 'dist', 'bin.js')

export function assertBuilt(): void {
  if (!existsSync(BIN)) throw new Error(`${BIN} is missing: run pnpm --filter @nasjs/cli build first`)
}

export const tempDir = (): string => mkdtempSync(join(tmpdir(), 'nas-e2e-'))

/** Runs `nas ...args` in `cwd` and returns its exit code and output. */
export function nas(
  cwd: string,
  args: readonly string[],
  env: NodeJS.ProcessEnv = {},
): SpawnSyncReturns<string> & { json: () => unknown } {
  const r = spawnSync(process.execPath, [BIN, ...args], {
    cwd,
    encoding: 'utf8',
    env: { ...process.env, CI: 'true', ...env },
    timeout: 120_000,
  })
  const lines = r.stdout.trim().split('\n')
  return Object.assign(r, { json: () => JSON.parse(lines[lines.length - 1] ?? 'null') as unknown })
}

/** Starts `nas ...args` without waiting. */
export const nasAsync = (cwd: string, args: readonly string[]) =>
  spawn(process.execPath, [BIN, ...args], {
    cwd,
    env: { ...process.env, CI: 'true' },
    stdio: ['ignore', 'pipe', 'pipe'],
  })

/**
 * Starts `nas ...args` and kills it with SIGKILL as soon as `file` exists (its first checkpoint);
 * rejects when the command ends before that. Resolves once the process has exited.
 */
export async function nasKilledAt(cwd: string, args: readonly string[], file: string): Promise<void> {
  const child = nasAsync(cwd, args)
  const exited = new Promise((resolve) => child.on('exit', resolve))
  await new Promise<void>((resolve, reject) => {
    const timer = setInterval(() => {
      if (existsSync(file)) {
        clearInterval(timer)
        child.kill('SIGKILL')
        resolve()
      }
    }, 20)
    child.on('exit', () => {
      clearInterval(timer)
      reject(new Error(`nas ${args.join(' ')} ended before ${file} appeared`))
    })
  })
  await exited
}
