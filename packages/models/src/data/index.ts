export * from './dataset.js'
export * from './parse.js'
export { IMAGE_EXTENSIONS, datasetFromImageFiles, type ImageFileLike, type RgbaImage } from './images.js'
