/**
 * CPU time of processes from Linux `/proc/<pid>/stat` (fields utime + stime, in clock ticks of 10 ms:
 * USER_HZ = 100), for the benchmarks' "CPU per click / per event" figures.
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';

/** The PostgreSQL postmaster's pid for the cluster in `clusterDir` (first line of `postmaster.pid`), or -1. */
function postmasterPid(clusterDir: string): number {
  try {
    return Number(readFileSync(path.join(clusterDir, 'postmaster.pid'), 'utf8').split('\n')[0]);
  } catch {
    return -1;
  }
}

/**
 * CPU ms (user + system) used so far by process `pid` (0 when `pid` is undefined or gone), and by the PostgreSQL
 * of `clusterDir`: its postmaster and every child (backends, WAL writer, checkpointer, autovacuum), those that have
 * exited included (the postmaster's cutime + cstime: a backend closed by a pool's idle timeout between two readings
 * would otherwise take its CPU out of the second one).
 */
export function cpuMs(pid: number | undefined, clusterDir: string): { process: number; postgres: number } {
  const postmaster = postmasterPid(clusterDir);
  let proc = 0;
  let postgres = 0;
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    let fields: string[];
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      fields = stat.slice(stat.lastIndexOf(')') + 2).split(' '); // after "pid (comm) ": state, ppid, ...
    } catch {
      continue; // the process ended meanwhile
    }
    const ms = (Number(fields[11]) + Number(fields[12])) * 10;
    if (Number(entry) === pid) proc = ms;
    else if (Number(entry) === postmaster) postgres += ms + (Number(fields[13]) + Number(fields[14])) * 10;
    else if (Number(fields[1]) === postmaster) postgres += ms;
  }
  return { process: proc, postgres };
}

/**
 * The whole machine's CPU time so far from the first line of `/proc/stat` (all cores, in clock ticks of 10 ms):
 * `busy` is everything but idle and iowait, `total` includes them. Differences of two readings give how busy the
 * cores were in between.
 */
export function machineCpuTicks(): { busy: number; total: number } {
  const fields = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
  const total = fields.reduce((a, b) => a + b, 0);
  return { busy: total - fields[3]! - fields[4]!, total };
}
