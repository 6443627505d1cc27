/**
 * What an effect module needs of core and nothing more: the effect contract, options, frames,
 * errors and the cores (`@stickerkey/core/effect`). Effects import this rather than the package's
 * index because a stage thread imports its effects itself when it starts (a thread kept for later
 * jobs has them already), and the index brings the pipeline, ffmpeg resolution, probing and
 * encoding, which a thread never uses: ~70 ms of a core per thread to load. The modules are the
 * index's own, so classes and checks (`instanceof InvalidOptionError`) are the same objects on
 * either path.
 */
export * from './effect.js';
export * from './options.js';
export * from './frame.js';
export * from './errors.js';
export { availableCores } from './cores.js';
