export * from './errors.js';
export * from './frame.js';
export * from './options.js';
export * from './effect.js';
export { ffmpegBinary, ffprobeBinary, ffmpegCommand } from './ffmpeg.js';
export { spawnFfmpeg, type FfmpegExit, type FfmpegProcess } from './ffmpeg-process.js';
export { probe, DEFAULT_LIMITS, orientationFromMatrix, type ProbeLimits, type ProbeResult, type ProbeColour } from './probe.js';
export { colourPlan, colourCapabilities, bt709OutputArgs, BT709_YUV_SCALE, type ColourPlan, type ColourCapabilities } from './colour.js';
export { FramePool, FrameDecoder, decodeFilter, alphaDecoderArgs, uprightFilters, parseRawOutputStream, type DecodeOptions } from './decode.js';
export {
  FrameEncoder,
  encoderArgs,
  rawInputArgs,
  formatFromPath,
  formatHasAlpha,
  OUTPUT_FORMATS,
  type OutputFormat,
  type EncoderSettings,
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
