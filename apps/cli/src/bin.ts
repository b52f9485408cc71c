#!/usr/bin/env node
import { defaultIo } from './context.js'
import { reportError } from './errors.js'
import { buildProgram } from './program.js'

// a closed pipe (`nas strategies | head`) ends the program quietly
process.stdout.on('error', (e: NodeJS.ErrnoException) => {
  if (e.code === 'EPIPE') process.exit(0)
  throw e
})

const io = defaultIo()
const json = process.argv.includes('--json')
try {
  await buildProgram(io).parseAsync(process.argv)
} catch (e) {
  const r = reportError(e)
  if (json && r.text) process.stdout.write(JSON.stringify(r.json) + '\n')
  if (r.text) process.stderr.write(r.text + '\n')
  process.exitCode = r.exitCode
}
