/**
 * The --memory-budget flag, as data: one option shared by `render` and a batch, in a module of its
 * own so that a plain render that sets it does not load the batch's progress bars and globbing.
 */
import { resolveOptions } from '@stickerkey/core';

const MB = 1024 * 1024;

export const MEMORY_BUDGET_OPTION = {
  name: 'memory-budget',
  type: 'number',
  min: 64,
  max: 1_048_576,
  default: 1536,
  unit: 'MB',
  help: 'process-tree memory the batch may use (Node + ffmpeg); as MEMORY_BUDGET_MB',
} as const;

/** One render's --memory-budget (MB as text) in bytes, checked as a batch's is. */
export function memoryBudgetBytes(text: string): number {
  return Math.round(resolveOptions('render', [MEMORY_BUDGET_OPTION], { 'memory-budget': text })['memory-budget'] * MB);
}
