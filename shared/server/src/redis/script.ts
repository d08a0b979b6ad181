import type { ChainableCommander, Redis } from 'ioredis';

type Arg = string | number;
type Command = (...args: Arg[]) => Promise<unknown>;

/**
 * A Lua script as an ioredis command: it runs by EVALSHA (EVAL once after Redis lost its script
 * cache), so the text is not sent with every call, and it can be queued in a pipeline. Every script
 * of the system is one of these: KEYS first, then ARGV.
 */
export class RedisScript<Result = unknown> {
  /**
   * @param name ioredis command name, unique in the process
   * @param numberOfKeys how many of the arguments are KEYS
   */
  constructor(
    private readonly name: string,
    private readonly numberOfKeys: number,
    private readonly lua: string,
  ) {}

  /** Defines the command on `redis`; pipelines made from it afterwards can queue the script. */
  define(redis: Redis): void {
    if (!(this.name in redis)) redis.defineCommand(this.name, { numberOfKeys: this.numberOfKeys, lua: this.lua });
  }

  /** Runs the script on `redis`. */
  run(redis: Redis, keys: readonly string[], args: readonly Arg[] = []): Promise<Result> {
    this.define(redis);
    return this.command(redis, keys)(...keys, ...args) as Promise<Result>;
  }

  /** Queues the script in a pipeline made after `define` on its client; the result comes with the pipeline's. */
  queue(pipeline: ChainableCommander, keys: readonly string[], args: readonly Arg[] = []): void {
    void this.command(pipeline, keys)(...keys, ...args);
  }

  private command(target: Redis | ChainableCommander, keys: readonly string[]): Command {
    if (keys.length !== this.numberOfKeys) throw new Error(`${this.name}: expected ${this.numberOfKeys} keys, got ${keys.length}`);
    const command = (target as unknown as Record<string, Command | undefined>)[this.name];
    if (!command) throw new Error(`${this.name}: not defined on this client (call define before making the pipeline)`);
    return command.bind(target);
  }
}
