// The Node entry, `@nasjs/benchmarks/node`: finding the data directory, reading the tables from disk
// and the binary column cache under node_modules/.cache/nasjs. Everything that turns the tables'
// texts into benchmarks lives in the platform-free main entry, `@nasjs/benchmarks`; this entry only
// adds the file system (the split of Effect's `platform` / `platform-node`).
export {
  dataFileIn,
  defaultDataDirCandidates,
  findWorkspaceRoot,
  locateDataFile,
  resolveDataDir,
  type DataDir,
  type DataDirOptions,
  type DataDirSource,
} from './data-dir.js'
export { readCsvFile, readDataText } from './read.js'
export { clearNb201Cache, loadNb201, type LoadNb201Options } from './nb201.js'
export { loadNb201ZeroCost, nb201FreeFeatures } from './zero-cost.js'
export { loadFbnet } from './fbnet.js'
export { loadQuantizationTable } from './quantization.js'
