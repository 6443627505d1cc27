/**
 * @stickerkey/effects: the keyer and the sticker effects. Each module is also its own subpath
 * export (`@stickerkey/effects/<name>` -> `dist/<name>.js`), so a caller that needs one effect
 * loads only that one.
 */
export { effects, effectNames, getEffect, effectOrigin, type AnyEffect, type EffectName } from './registry.js';
export { STACK_ORDER, PRESETS, createStickerStack, type PresetName, type PresetDefinition, type StickerStackConfig } from './stack.js';
export { chromaKey } from './chroma-key.js';
export { outline } from './outline.js';
export { displacement } from './displacement.js';
export { multiplyBlend } from './multiply-blend.js';
export { addBlend } from './add-blend.js';
export { surfaceBevel } from './surface-bevel.js';
export { alphaBevel } from './alpha-bevel.js';
export { dropShadow } from './drop-shadow.js';
export {
  posterizeTime,
  posterizeTimeOptions,
  posterizeSchedule,
  posterizeFilter,
  type PosterizeSchedule,
  type PosterizeTimeOptions,
} from './posterize-time.js';
export {
  loadTexture,
  generateTexture,
  textureAtSize,
  textureCache,
  textureCacheStats,
  TextureCache,
  type Texture,
  type TextureSpec,
  type ProceduralKind,
  type TextureCacheStats,
} from './textures.js';
