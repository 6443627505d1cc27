/**
 * `stickerkey check <file> --target <name>`: every way a file breaks a sticker platform's limits,
 * from core's checkAgainstTarget (the same check render runs on its own output). Presentation
 * only: the limits live in core's platforms.ts, the reading of the file in core's check.ts.
 *
 * Exit codes, for scripts (`stickerkey check wave.webm --target telegram && upload wave.webm`):
 *   0  the file meets every limit of the target;
 *   1  it breaks at least one (each one is listed);
 *   2  an unknown target or a missing argument (the code the CLI uses for any bad option).
 */
import { checkAgainstTarget, platformTarget, type FileFacts, type TargetCheck } from '@stickerkey/core';

export interface CheckFlags {
  target: string;
  json?: boolean;
}

export interface CheckReport {
  exitCode: 0 | 1;
  stdout: string;
}

function seconds(value: number | undefined): string {
  return value === undefined ? 'unknown length' : `${value.toFixed(3)} s`;
}

/** One line of what the file is: format, size, timing, bytes, alpha, audio. */
export function describeFacts(facts: FileFacts): string {
  const parts = [
    `${facts.container} (${facts.codec})`,
    `${facts.width}x${facts.height}`,
    seconds(facts.durationSeconds),
    facts.fps === undefined ? 'unknown rate' : `${facts.fps.toFixed(2)} fps`,
    `${facts.frames ?? 'unknown'} frames`,
    ...(facts.plays === undefined ? [] : [facts.plays === Infinity ? 'loops forever' : `plays ${facts.plays}x`]),
    `${facts.bytes.toLocaleString('en-US')} bytes`,
    facts.alpha ? 'see-through' : 'opaque',
    ...(facts.palette ? ['palette'] : []),
    facts.audioStreams > 0 ? `${facts.audioStreams} audio` : 'no audio',
  ];
  return parts.join(', ');
}

export function formatCheck(result: TargetCheck): string {
  const lines = [`${result.facts.path} against ${result.target.name} (${result.target.label}):`, `  ${describeFacts(result.facts)}`];
  for (const breach of result.breaches) lines.push(`  ✗ ${breach.limit}: ${breach.message}`);
  const n = result.breaches.length;
  lines.push(n === 0 ? `  ✓ meets every ${result.target.name} limit` : `  breaks ${n} ${n === 1 ? 'limit' : 'limits'}`);
  return `${lines.join('\n')}\n`;
}

/** The result as JSON: plays forever as "forever" (JSON has no Infinity). */
export function checkToJson(result: TargetCheck): string {
  const facts = { ...result.facts, plays: result.facts.plays === Infinity ? 'forever' : result.facts.plays };
  return `${JSON.stringify({ ok: result.ok, target: result.target.name, facts, breaches: result.breaches }, null, 2)}\n`;
}

export async function runCheck(file: string, flags: CheckFlags): Promise<CheckReport> {
  // Refused (INVALID_OPTION, exit 2) before the file is read.
  const target = platformTarget(flags.target, '--target');
  const result = await checkAgainstTarget(file, target);
  return { exitCode: result.ok ? 0 : 1, stdout: flags.json ? checkToJson(result) : formatCheck(result) };
}
