import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KAFKA_VERSIONS } from '@chat/deploy/local/config';
import { javaArgs, kafkaArtifacts, newClusterId, renderLog4j, renderServerProperties } from '@chat/deploy/local/kafka';
import { ensureFirstAvailable } from '@chat/deploy/local/maven';
import { resolvePaths } from '@chat/deploy/local/paths';
import { runToCompletion } from '@chat/deploy/local/process-control';
import { spawnUntilLogged } from './logged-process.js';
import { freePort } from './wait.js';

/**
 * A throwaway single-node Kafka (KRaft) owned by one test file, on its own ports and data dir,
 * for fault tests that stop, pause (SIGSTOP) or kill the broker. Never touch the shared Kafka
 * other test files use. Built from the same configuration as `npm run infra` (jars from the cache).
 */
export interface PrivateKafka {
  brokers: string[];
  /** SIGSTOP: the broker keeps its sockets open but answers nothing (a hung broker). */
  pause(): void;
  /** SIGCONT after pause(). */
  resume(): void;
  /** SIGKILL and wait for the exit: connections are refused from now on. */
  kill(): Promise<void>;
  /** SIGTERM (controlled shutdown) and wait for the exit. */
  stop(): Promise<void>;
  /** Starts the broker again on the same ports and data dir (after kill() or stop()); resolves when it is up. */
  restart(): Promise<void>;
  /** Kill (if still running) and delete the data dir. */
  destroy(): Promise<void>;
}

export async function startPrivateKafka(timeoutMs = 120_000): Promise<PrivateKafka> {
  const { lib } = await ensureFirstAvailable(resolvePaths().cacheDir, KAFKA_VERSIONS, kafkaArtifacts, () => undefined);
  const dir = mkdtempSync(join(tmpdir(), 'chat-private-kafka-'));
  const [port, controllerPort] = [await freePort(), await freePort()];
  const props = join(dir, 'server.properties');
  writeFileSync(props, renderServerProperties({ host: '127.0.0.1', port, controllerPort, logDir: join(dir, 'data') }));
  writeFileSync(join(dir, 'log4j.properties'), renderLog4j());
  const java = process.env.JAVA || 'java';
  const base = javaArgs(lib, dir, join(dir, 'logs'));
  const logFile = join(dir, 'kafka.log');
  await runToCompletion(java, [...base, 'kafka.tools.StorageTool', 'format', '-t', newClusterId(), '-c', props], { cwd: dir, logFile });
  let child: ChildProcess | undefined;
  let exited: Promise<void> = Promise.resolve();
  const stopOnExit = () => child?.kill('SIGKILL');
  process.once('exit', stopOnExit);
  const running = () => child !== undefined && child.exitCode === null && child.signalCode === null;
  const end = async (signal: NodeJS.Signals) => {
    if (running()) {
      child!.kill('SIGCONT');
      child!.kill(signal);
      await exited;
    }
  };
  const kill = () => end('SIGKILL');
  const start = async () => {
    ({ child, exited } = await spawnUntilLogged(java, [...base, 'kafka.Kafka', props], {
      cwd: dir,
      logFile,
      readyLine: 'Kafka Server started',
      name: 'the private Kafka',
      timeoutMs,
    }));
  };
  await start();
  return {
    brokers: [`127.0.0.1:${port}`],
    pause: () => void child?.kill('SIGSTOP'),
    resume: () => void child?.kill('SIGCONT'),
    kill,
    stop: () => end('SIGTERM'),
    restart: async () => {
      await kill();
      await start();
    },
    destroy: async () => {
      await kill();
      process.removeListener('exit', stopOnExit);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
