import { createHash } from 'node:crypto';
import type { ChainableCommander, Redis } from 'ioredis';

type Arg = string | number;
type Command = (...args: Arg[]) => Promise<unknown>;

/**
 * A Lua script: `run` sends EVALSHA (EVAL once after Redis lost its script cache), so the text is
 * not sent with every call; `queue` adds it to a pipeline as an ioredis command. Every script of
 * the system is one of these: KEYS first, then ARGV.
 *
 * `run` uses the built-in commands, not a command defined on the client: with auto-pipelining, a
 * command defined while the current tick's pipeline already exists is missing from that pipeline,
 * and ioredis then answers its commands out of step and throws outside any promise (the process dies).
 */
export class RedisScript<Result = unknown> {
  private readonly sha: string;

  /**
   * @param name ioredis command name, unique in the process
   * @param numberOfKeys how many of the arguments are KEYS; 'any' for a script over any number of
   *   keys, which only `run` takes
   */
  constructor(
    private readonly name: string,
    private readonly numberOfKeys: number | 'any',
    private readonly lua: string,
  ) {
    this.sha = createHash('sha1').update(lua).digest('hex');
  }

  /** Defines the command on `redis`; pipelines made from it afterwards can queue the script. */
  define(redis: Redis): void {
    if (this.numberOfKeys === 'any') throw new Error(`${this.name}: a script over any number of keys is only run, not queued`);
    if (!(this.name in redis)) redis.defineCommand(this.name, { numberOfKeys: this.numberOfKeys, lua: this.lua });
  }

  /** Runs the script on `redis`. */
  async run(redis: Redis, keys: readonly string[], args: readonly Arg[] = []): Promise<Result> {
    this.checkKeys(keys);
    try {
      return (await redis.evalsha(this.sha, keys.length, ...keys, ...args)) as Result;
    } catch (err) {
      if (!(err instanceof Error) || !err.message.startsWith('NOSCRIPT')) throw err;
      return (await redis.eval(this.lua, keys.length, ...keys, ...args)) as Result;
    }
  }

  /** Queues the script in a pipeline made after `define` on its client; the result comes with the pipeline's. */
  queue(pipeline: ChainableCommander, keys: readonly string[], args: readonly Arg[] = []): void {
    void this.command(pipeline, keys)(...keys, ...args);
  }

  private checkKeys(keys: readonly string[]): void {
    if (this.numberOfKeys !== 'any' && keys.length !== this.numberOfKeys)
      throw new Error(`${this.name}: expected ${this.numberOfKeys} keys, got ${keys.length}`);
  }

  private command(target: ChainableCommander, keys: readonly string[]): Command {
    this.checkKeys(keys);
    const command = (target as unknown as Record<string, Command | undefined>)[this.name];
    if (!command) throw new Error(`${this.name}: not defined on this client (call define before making the pipeline)`);
    return command.bind(target);
  }
}
