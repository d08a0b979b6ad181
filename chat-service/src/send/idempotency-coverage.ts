import type { UserSendDays } from '../store/user-send-days.js';
import type { CompletenessMarker, IdempotencyStore } from './idempotency-store.js';

const DAY_MS = 24 * 3600 * 1000;
/** G5's window. */
const WINDOW_MS = DAY_MS;
/** Clock offset tolerated between chat-service hosts (the marker's `since` is one host's clock). */
const CLOCK_SKEW_MS = 60_000;

/**
 * Decides whether Redis holds every idempotency record a user created within G5's window, so that
 * a record Redis does not know is a first send and needs no durable lookup (here or in the
 * sequencer). Redis vouches for itself with a per-user marker stored beside the records; when the
 * marker is missing (a new user, an idle one, or Redis lost its data), the durable UserSendDays
 * rows tell whether the user sent anything recently. Each user's sending is recorded durably once
 * per UTC day, before that day's first send is acked.
 */
export class IdempotencyCoverage {
  constructor(
    private readonly idempotency: Pick<IdempotencyStore, 'replaceMarker'>,
    private readonly days: UserSendDays,
    /** False when Redis may evict records (see redisKeepsRecords): then nothing is vouched for. */
    private readonly redisKeepsRecords: boolean,
  ) {}

  /** For a send of `userId` at `now` (ms) that found `marker` beside its record. */
  async covers(userId: string, marker: CompletenessMarker | null, now: number): Promise<boolean> {
    if (!this.redisKeepsRecords) return false;
    const today = Math.floor(now / DAY_MS);
    if (!marker) {
      // A row since the day before yesterday covers every send within the window, whatever the clocks.
      const sentRecently = await this.days.sentSince(userId, today - 2);
      await this.days.record(userId, today);
      await this.idempotency.replaceMarker(userId, null, { since: sentRecently ? now : 0, day: today });
      return !sentRecently;
    }
    if (marker.day !== today) {
      await this.days.record(userId, today);
      await this.idempotency.replaceMarker(userId, marker, { since: marker.since, day: today });
    }
    return marker.since + WINDOW_MS + CLOCK_SKEW_MS <= now;
  }
}
