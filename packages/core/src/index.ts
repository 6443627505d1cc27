export * from './errors.js';
export * from './frame.js';
export * from './options.js';
export * from './effect.js';
export { ffmpegBinary, ffprobeBinary, ffmpegCommand } from './ffmpeg.js';
export { spawnFfmpeg, type FfmpegExit, type FfmpegProcess } from './ffmpeg-process.js';
export { probe, DEFAULT_LIMITS, type ProbeLimits, type ProbeResult } from './probe.js';
export { FramePool, FrameDecoder, decodeFilter, alphaDecoderArgs, type DecodeOptions } from './decode.js';
export {
  FrameEncoder,
  encoderArgs,
  encoderResources,
  checkSpeed,
  SPEED_PRESETS,
  ENCODER_SPEEDS,
  DEFAULT_SPEED,
  rawInputArgs,
  formatFromPath,
  formatHasAlpha,
  OUTPUT_FORMATS,
  type OutputFormat,
  type EncoderSettings,
  type EncoderSpeed,
  type EncoderResources,
  type EncodeOptions,
} from './encode.js';
export { verifyAlpha, hasTransparentPixels } from './verify.js';
export {
  MemoryMonitor,
  sampleProcessTree,
  descendantPids,
  formatMemoryLine,
  toMB,
  type MemorySample,
  type MemoryPeaks,
  type TreeMemory,
  type ProcessMemory,
  type MemoryMonitorOptions,
} from './memory.js';
export { runPipeline, type PipelineOptions, type PipelineResult, type Progress } from './pipeline.js';
