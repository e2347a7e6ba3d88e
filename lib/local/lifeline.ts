import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';

/**
 * Ends the local run when whoever launched it is gone, however it ended. npm runs the script under
 * `sh -c`, so this process's parent is a shell that outlives a SIGKILLed npm: the launcher is the
 * nearest ancestor that is not a shell. Each link of the chain up to it keeps its parent pid while the
 * launcher lives, and loses it (to init or a subreaper) the moment the launcher dies; watching those
 * links, rather than the launcher's pid, never mistakes a reused pid for the launcher.
 */

const SHELLS = new Set(['sh', 'dash', 'bash', 'zsh', 'ash', 'ksh', 'mksh', 'busybox']);
const MAX_SHELLS = 4;

export interface ProcessInfo {
  readonly ppid: number;
  /** The executable's name, as `ps -o comm` shows it. */
  readonly name: string;
  /** Ticks since boot (Linux); tells a process from a later one with the same pid. */
  readonly startTime?: string;
}

/** What the OS says about a process, or undefined when it is gone. */
export function processInfo(pid: number): ProcessInfo | undefined {
  let stat: string | undefined;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT' && process.platform === 'linux') return undefined;
  }
  if (stat !== undefined) {
    // `pid (comm) state ppid …`: comm may hold spaces and parentheses, so split after the last ')'.
    const close = stat.lastIndexOf(')');
    const fields = stat.slice(close + 2).split(' ');
    if (fields[0] === 'Z') return undefined;
    return { ppid: Number(fields[1]), name: stat.slice(stat.indexOf('(') + 1, close), startTime: fields[19] };
  }
  try {
    const out = execFileSync('ps', ['-o', 'ppid=,comm=', '-p', String(pid)], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    const match = /^(\d+)\s+(.+)$/.exec(out);
    return match === null ? undefined : { ppid: Number(match[1]), name: path.basename(match[2]!) };
  } catch {
    return undefined;
  }
}

interface Link {
  readonly pid: number;
  readonly ppid: number;
}

/** This process and each shell between it and its launcher, with the parent each has now. */
export function launcherChain(): readonly Link[] {
  const links: Link[] = [{ pid: process.pid, ppid: process.ppid }];
  for (let pid = process.ppid; links.length <= MAX_SHELLS && pid > 1; ) {
    const info = processInfo(pid);
    if (info === undefined || !SHELLS.has(info.name)) break;
    links.push({ pid, ppid: info.ppid });
    pid = info.ppid;
  }
  return links;
}

/** Calls `onGone` once, when a link of the chain loses its parent. Returns a function that stops watching. */
export function watchLauncher(onGone: (launcherPid: number) => void, intervalMs = 500): () => void {
  const links = launcherChain();
  const launcher = links[links.length - 1]!.ppid;
  // Started by init or a subreaper (a container, a daemon): nothing to outlive.
  if (launcher <= 1) return () => undefined;
  const timer = setInterval(() => {
    const broken = links.some((link) => (link.pid === process.pid ? process.ppid : processInfo(link.pid)?.ppid) !== link.ppid);
    if (broken) {
      clearInterval(timer);
      onGone(launcher);
    }
  }, intervalMs);
  timer.unref();
  return () => clearInterval(timer);
}
