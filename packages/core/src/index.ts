export * from './errors.js';
export * from './frame.js';
export * from './options.js';
export * from './effect.js';
export { ffmpegBinary, ffprobeBinary, ffmpegCommand } from './ffmpeg.js';
