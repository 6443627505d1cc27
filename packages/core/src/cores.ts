/**
 * How many cores a job may really use: the one home of that fact for the stage threads and the
 * encoder's threads.
 *
 * `os.availableParallelism()` sees the CPUs the process may be scheduled on, not a container's CPU
 * quota: a "1 CPU" container on a 16-core host (Render, Fly, Kubernetes limits, `docker --cpus 1`)
 * is 16 CPUs with a quota of one CPU-second per second. Sixteen threads there only add memory and
 * contention, and the seed's users run exactly such containers. So the quota caps the count,
 * rounded up (1.5 CPUs can keep two threads busy half the time).
 */
import { readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';

/** The CPU quota of this process's cgroup in CPUs, or undefined when there is none. */
export function cgroupCpuQuota(root = '/sys/fs/cgroup'): number | undefined {
  const read = (path: string) => {
    try {
      return readFileSync(join(root, path), 'utf8').trim();
    } catch {
      return undefined;
    }
  };
  // cgroup v2, as a container sees its own group at the root: "max 100000" or "150000 100000".
  const v2 = read('cpu.max');
  if (v2 !== undefined) {
    const [quota, period] = v2.split(/\s+/);
    return quota === 'max' ? undefined : ratio(Number(quota), Number(period));
  }
  // cgroup v1: a quota of -1 means none.
  const quota = read('cpu/cpu.cfs_quota_us') ?? read('cpu,cpuacct/cpu.cfs_quota_us');
  const period = read('cpu/cpu.cfs_period_us') ?? read('cpu,cpuacct/cpu.cfs_period_us');
  if (quota === undefined || period === undefined) return undefined;
  return ratio(Number(quota), Number(period));
}

function ratio(quota: number, period: number): number | undefined {
  return quota > 0 && period > 0 ? quota / period : undefined;
}

let cached: number | undefined;

/** Cores this process may keep busy: the schedulable CPUs, capped by the cgroup's quota. */
export function availableCores(): number {
  if (cached === undefined) {
    const quota = cgroupCpuQuota();
    cached = Math.max(1, Math.min(availableParallelism(), quota === undefined ? Infinity : Math.ceil(quota)));
  }
  return cached;
}
