// Loads all NB201 tables once in a fresh process and prints the wall time in ms (used by bench/run.ts).
import { loadNb201 } from '../src/node/index.js'

const binaryCache = process.argv[2] !== 'no-cache'
const t0 = performance.now()
const bench = loadNb201({ binaryCache })
const ms = performance.now() - t0
if (bench.size !== 15625) throw new Error('bad load')
process.stdout.write(`${ms}\n`)
