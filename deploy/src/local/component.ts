import type { Endpoints } from './config.js';
import type { ComponentName, Paths } from './paths.js';

export interface Launch {
  command: string;
  args: string[];
  env?: NodeJS.ProcessEnv;
  /** Human-readable version, e.g. `Kafka 3.9.1`. */
  version: string;
}

export interface Component {
  name: ComponentName;
  /** Main loopback port we listen on (for clash detection and status). */
  port: number;
  /** Ports that must be free before we start (includes `port`). */
  ports: number[];
  /** How long to wait for readiness after spawning. */
  readyTimeoutMs: number;
  /** How long `down` waits after SIGTERM before SIGKILL. */
  stopGraceMs: number;
  /** Fetch binaries, write config files, one-time initialisation; returns how to launch. */
  prepare(paths: Paths, log: (msg: string) => void): Promise<Launch>;
  /** Resolves when the component answers real requests. */
  ready(e: Endpoints): Promise<unknown>;
}
