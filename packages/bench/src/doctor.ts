/**
 * `bench:doctor`: one replay under Clinic Doctor (@clinic/doctor's programmatic API: the same
 * child runner, with Doctor's samplers injected through NODE_OPTIONS), HTML report written
 * under bench-results/clinic/. Clinic is not maintained for every Node release; when it cannot
 * collect or analyse on this Node, say so plainly and exit non-zero rather than leave an empty
 * or broken report behind.
 */
import { createRequire } from 'node:module';
import { existsSync, statSync } from 'node:fs';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ensureFixture } from '@stickerkey/fixtures';
import type { BenchCase } from './cases.js';
import type { ChildJob } from './child.js';
import { childScript } from './runner.js';

const require = createRequire(import.meta.url);

interface ClinicDoctorInstance {
  collect(args: string[], callback: (error: Error | null, dir: string) => void): void;
  visualize(dir: string, output: string, callback: (error?: Error | null) => void): void;
}
type ClinicDoctorClass = new (settings?: { dest?: string; sampleInterval?: number; debug?: boolean }) => ClinicDoctorInstance;

export class ClinicUnavailableError extends Error {
  readonly code = 'CLINIC_UNAVAILABLE';
}

export async function runDoctor(c: BenchCase, outDir: string, log: (line: string) => void = console.log): Promise<string> {
  let Doctor: ClinicDoctorClass;
  try {
    Doctor = require('@clinic/doctor') as ClinicDoctorClass;
  } catch (error) {
    throw new ClinicUnavailableError(`Clinic Doctor cannot be loaded on Node ${process.version}: ${(error as Error).message}`);
  }
  const dir = join(outDir, 'clinic');
  await mkdir(dir, { recursive: true });
  const fixture = await ensureFixture({ screen: c.screen, height: c.height, seconds: c.seconds });
  const base = join(dir, `doctor-${c.id}`);
  const job: ChildJob = {
    input: fixture.video,
    output: `${base}.${c.format}`,
    posterize: c.posterize,
    format: c.format,
    resultPath: `${base}.result.json`,
    jobId: `doctor-${c.id}`,
    progressEvery: 24,
  };
  await writeFile(`${base}.job.json`, JSON.stringify(job));
  log(`Clinic Doctor: replaying ${c.id} on Node ${process.version} (collecting)...`);
  const doctor = new Doctor({ dest: dir, sampleInterval: 10 });
  const dataDir = await new Promise<string>((resolve, reject) => {
    doctor.collect([process.execPath, childScript, `${base}.job.json`], (error, path) => (error ? reject(error) : resolve(path)));
  }).catch((error: Error) => {
    throw new ClinicUnavailableError(`Clinic Doctor could not collect on Node ${process.version}: ${error.message}`);
  });
  // Doctor reports an empty collection only as a console line: check it ourselves.
  const stat = join(dataDir, `${dataDir.split('/').pop()!.replace('.clinic-doctor', '')}.clinic-doctor-processstat`);
  if (!existsSync(stat) || statSync(stat).size === 0) {
    throw new ClinicUnavailableError(
      `Clinic Doctor collected no samples on Node ${process.version} (missing or empty ${stat}); its injected sampler did not run on this Node`,
    );
  }
  await rm(job.output, { force: true });
  if (!existsSync(job.resultPath)) {
    throw new Error(`Expected the replay under Clinic Doctor to finish and write ${job.resultPath}, but it did not (see the child's output above)`);
  }
  log('Clinic Doctor: analysing...');
  const html = `${dataDir}.html`;
  await new Promise<void>((resolve, reject) => doctor.visualize(dataDir, html, (error) => (error ? reject(error) : resolve()))).catch((error: Error) => {
    throw new ClinicUnavailableError(`Clinic Doctor could not analyse its data on Node ${process.version}: ${error.message}`);
  });
  if (!existsSync(html) || statSync(html).size === 0) throw new ClinicUnavailableError(`Clinic Doctor wrote no report at ${html}`);
  return html;
}
