/**
 * The deploy files say what runs in production, and nothing here can build an image: so the
 * Dockerfile's commands are scripts in deploy/, and this test runs those same scripts on this
 * machine (deploy/build.sh on a fresh copy of the repository: frozen install, build, runtime
 * check), and holds the Dockerfile, Procfile and render.yaml to the worker's real settings.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative, sep } from 'node:path';
import { cp } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { QUEUE_ENV } from '../src/queue-config.js';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const ENV_NAMES = new Set<string>(QUEUE_ENV.map((v) => v.name));
let copy: string | undefined;

afterAll(async () => {
  if (copy) await rm(copy, { recursive: true, force: true });
});

function run(command: string, args: string[], cwd: string): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd, env: { ...process.env, CI: 'true' }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    child.stderr.on('data', (c: Buffer) => (out += c.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, out }));
  });
}

/** Every RUN of the Dockerfile, continuation lines joined. */
function dockerRuns(dockerfile: string): string[] {
  return dockerfile
    .replace(/\\\n/g, ' ')
    .split('\n')
    .filter((line) => line.startsWith('RUN '))
    .map((line) => line.slice(4).trim());
}

describe('deploy files', () => {
  it('the Dockerfile runs only deploy/ scripts, as a non-root user, under tini, with the Procfile command', async () => {
    const dockerfile = await readFile(join(ROOT, 'Dockerfile'), 'utf8');
    expect(dockerfile).toMatch(/^FROM node:20-bookworm-slim$/m); // Debian, so apt gives Debian's ffmpeg
    expect(dockerRuns(dockerfile)).toEqual(['bash /tmp/system.sh && rm /tmp/system.sh', 'bash deploy/build.sh --require-ffmpeg 5']);
    expect(dockerfile).toMatch(/^USER stickerkey$/m);
    expect(dockerfile).toMatch(/^ENTRYPOINT \["\/usr\/bin\/tini", "--"\]$/m);
    const cmd = JSON.parse(/^CMD (\[.*\])$/m.exec(dockerfile)![1]!) as string[];
    const procfile = await readFile(join(ROOT, 'Procfile'), 'utf8');
    // The same command, with the glibc settings the image sets as ENV (a Procfile has no ENV).
    expect(procfile.trim()).toBe(`worker: MALLOC_ARENA_MAX=2 MALLOC_TRIM_THRESHOLD_=131072 ${cmd.join(' ')}`);
    expect(dockerfile).toMatch(/MALLOC_ARENA_MAX=2 \\\n\s+MALLOC_TRIM_THRESHOLD_=131072\n/);
    // Its settings are the worker's own variables (or the ffmpeg paths, Node's and glibc's).
    const env = [...dockerfile.replace(/\\\n/g, ' ').matchAll(/(\b[A-Z_]+)=\S+/g)].map((m) => m[1]!);
    expect(env.length).toBeGreaterThan(4);
    for (const name of env)
      expect(ENV_NAMES.has(name) || ['FFMPEG_PATH', 'FFPROBE_PATH', 'NODE_ENV', 'MALLOC_ARENA_MAX', 'MALLOC_TRIM_THRESHOLD_'].includes(name), name).toBe(true);
  });

  it('render.yaml: a worker service on the Dockerfile, with the worker’s own variables, and a Redis it reads REDIS_URL from', async () => {
    const blueprint = parseYaml(await readFile(join(ROOT, 'render.yaml'), 'utf8')) as {
      services: Array<{
        type: string;
        name: string;
        runtime?: string;
        dockerfilePath?: string;
        envVars?: Array<{ key: string; value?: string; fromService?: { name: string } }>;
        maxmemoryPolicy?: string;
      }>;
    };
    const worker = blueprint.services.find((s) => s.type === 'worker')!;
    const redis = blueprint.services.find((s) => s.type === 'keyvalue')!;
    expect(worker).toMatchObject({ runtime: 'docker', dockerfilePath: './Dockerfile' });
    expect(redis.maxmemoryPolicy).toBe('noeviction'); // BullMQ's keys must never be evicted
    for (const v of worker.envVars!) expect(ENV_NAMES.has(v.key), v.key).toBe(true);
    expect(worker.envVars!.find((v) => v.key === 'REDIS_URL')!.fromService!.name).toBe(redis.name);
    expect(Number(worker.envVars!.find((v) => v.key === 'MEMORY_BUDGET_MB')!.value)).toBeLessThan(2048);
  });

  it('deploy/system.sh --check names the Debian packages the image installs', async () => {
    const result = await run('bash', ['deploy/system.sh', '--check'], ROOT);
    expect(result.code).toBe(0);
    expect(result.out).toMatch(/^system: Debian packages wanted: ffmpeg tini util-linux ca-certificates; missing here: /m);
  });

  it('deploy/build.sh, the image’s build step, installs, builds and checks a fresh copy of the repository', { timeout: 600_000 }, async () => {
    copy = await mkdtemp(join(tmpdir(), 'stickerkey-deploy-'));
    const skip = new Set(['node_modules', 'dist', '.turbo', '.git', 'out', 'bench-results', 'cache']);
    // What `COPY . .` copies, given .dockerignore.
    await cp(ROOT, copy, {
      recursive: true,
      filter: (src) =>
        !relative(ROOT, src)
          .split(sep)
          .some((part) => skip.has(part) || part.endsWith('.tsbuildinfo')),
    });
    const result = await run('bash', ['deploy/build.sh'], copy);
    expect(result.code, result.out.slice(-2000)).toBe(0);
    expect(result.out).toMatch(/^check: stickerkey \d+\.\d+\.\d+, node v\d+.*, ffmpeg version .* at \/.*ffmpeg, setpriv --pdeathsig ok$/m);
  });
});
