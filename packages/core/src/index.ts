export * from './errors.js';
export * from './frame.js';
export * from './options.js';
export * from './effect.js';
export {
  ffmpegBinary,
  ffprobeBinary,
  ffmpegInfo,
  ffmpegIdentity,
  ffmpegStartupLine,
  resolveFfmpeg,
  resetFfmpegResolution,
  bundledBinaries,
  FFMPEG_REQUIREMENTS,
  OPTIONAL_ENCODERS,
  BUNDLED_VP9_COST,
  type FfmpegInfo,
  type FfmpegIdentity,
  type FfmpegSource,
  type FfprobeInfo,
  type ResolveOptions,
} from './ffmpeg.js';
export { spawnFfmpeg, type FfmpegExit, type FfmpegProcess } from './ffmpeg-process.js';
export { dieWithParent, parentDeathPrefix } from './parent-death.js';
export {
  probe,
  listKeyframes,
  DEFAULT_LIMITS,
  orientationFromMatrix,
  type ProbeLimits,
  type ProbeResult,
  type ProbeColour,
  type ProbeOptions,
  type KeyframeList,
} from './probe.js';
export { colourPlan, colourCapabilities, bt709OutputArgs, BT709_YUV_SCALE, type ColourPlan, type ColourCapabilities } from './colour.js';
export { FramePool, FrameDecoder, decodeFilter, alphaDecoderArgs, uprightFilters, parseRawOutputStream, type DecodeOptions } from './decode.js';
export {
  FrameEncoder,
  encoderArgs,
  encoderCores,
  encoderResources,
  checkSpeed,
  SPEED_PRESETS,
  QUALITY_STEPS,
  ENCODER_SPEEDS,
  DEFAULT_SPEED,
  rawInputArgs,
  formatFromPath,
  formatForExtension,
  FORMAT_STREAMS,
  checkFormatAvailable,
  completeOutput,
  FORMAT_EXTENSIONS,
  MUXER,
  formatHasAlpha,
  OUTPUT_FORMATS,
  type OutputFormat,
  type EncoderSettings,
  type EncoderSpeed,
  type EncoderResources,
  type EncodeOptions,
} from './encode.js';
export {
  readAnimationInfo,
  sniffAnimatedContainer,
  disposeGifFramesToBackground,
  setGifDisposal,
  gifDisposals,
  GIF_DISPOSE_TO_BACKGROUND,
  type AnimationInfo,
  type AnimatedContainer,
} from './animation.js';
export {
  checkAgainstTarget,
  assertMeetsTarget,
  readFileFacts,
  targetBreaches,
  type TargetCheck,
  type FileFacts,
  type Breach,
  type CheckedLimit,
} from './check.js';
export {
  PLATFORM_TARGETS,
  TARGET_NAMES,
  platformTarget,
  pixelRuleBreach,
  largestSizeFor,
  type TargetName,
  type PlatformTarget,
  type PixelRule,
  type LoopRule,
} from './platforms.js';
export { verifyAlpha, verifyOutputAlpha, hasTransparentPixels, webpHasTransparentPixels, webpFrames, type DecodedFrame } from './verify.js';
export {
  MemoryMonitor,
  sampleProcessTree,
  descendantPids,
  formatMemoryLine,
  treeCpuSeconds,
  toMB,
  type MemorySample,
  type MemoryPeaks,
  type TreeMemory,
  type ProcessMemory,
  type MemoryMonitorOptions,
} from './memory.js';
export { sampleFrames, pickKeyframes, type SampleOptions, type SampleResult } from './sample-frames.js';
export { reapedChildrenCpuSeconds, processCpuSeconds, readCpuTimes, type CpuTimes } from './process-cpu.js';
export {
  MEMORY_MODELS,
  defaultMemoryModel,
  ffmpegBuild,
  DEFAULT_MEMORY_BUDGET,
  resolvePoolSize,
  predictJobMemory,
  predictedCanvas,
  fitToMemoryBudget,
  planMemory,
  checkMemoryOptions,
  type MemoryModel,
  type FfmpegBuild,
  type MemoryPrediction,
  type MemoryPlan,
  type MemoryPlanOptions,
  type PredictOptions,
} from './memory-model.js';
export { runPipeline, type PipelineOptions, type PipelineResult, type Progress, type TargetLayout } from './pipeline.js';
export { availableCores, cgroupCpuQuota } from './cores.js';
export { optimiseOnOwnThreads, BACKGROUND_COMPILE_ENV } from './thread-compilation.js';
export { collectGarbage } from './collect-garbage.js';
export { IdleThreads } from './idle-threads.js';
export {
  StageLine,
  closeStageThreads,
  idleStageThreads,
  STAGE_THREAD_IDLE_MS,
  framePoolSize,
  resolveThreads,
  planHops,
  stageThreadCount,
  threadsForCanvas,
  INLINE_BELOW_MEGAPIXELS,
  serializeError,
  reviveError,
  THREADS_ENV,
  type SerializedError,
} from './stage-threads.js';
export { canvasPadding, paddedSize, croppedCanvas, stagesMargin, type CanvasPadding, type CroppedCanvas } from './canvas.js';
export { findCharacterRegion, SEARCH_SIDE, type CharacterRegion, type CharacterSearchOptions } from './character-region.js';
export { fitBudget, FrameSpool, attemptSize, type FitAttempt, type FitBudgetOptions, type FitResult, type FitTrade } from './fit-budget.js';
export { renderForTarget, FIT_MODES, FALLBACK_RATES, FALLBACK_SCALES, type FitMode, type TargetRenderOptions, type TargetRenderResult } from './target.js';
export { YuvaConverter, yuva420pBytes } from './yuva.js';
