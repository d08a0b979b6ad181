import { PRESENCE_PATHS, type PresenceAuthorizeResponse, type PresenceQueryResponse, type TypingResponse } from '@chat/protocol/internal';
import { mapLimit } from '@chat/server/collections';
import type { InternalHandler } from '@chat/server/http';
import { intersects, sharesConversation, type Membership } from './membership.js';
import type { PresenceStore } from './presence-store.js';
import type { TypingRelay } from './typing-relay.js';
import { parseAuthorize, parseQuery, parseReport, parseTyping } from './validate-request.js';

/** Membership checks of one query in flight at once. */
const QUERY_CONCURRENCY = 32;

/**
 * The distinct users of `userIds` that `watcherId` shares a conversation with, in order. When
 * cached member lists holding the watcher hold every user, nothing is read. Users whose
 * conversations are cached are checked without waiting (the common case: a subscribe names a group's
 * members). For the others, whichever costs fewer reads: the member lists of the watcher's
 * conversations (cached and shared by every member, so a group's subscribes read it once), or each
 * user's conversations, QUERY_CONCURRENCY reads at a time.
 */
async function visibleTo(membership: Membership, watcherId: string, userIds: readonly string[]): Promise<string[]> {
  const unique = [...new Set(userIds)];
  // Cached member lists holding the watcher often prove every user (a group's members subscribing
  // to each other): then the watcher's own conversations are not read at all.
  const lists = membership.cachedMemberListsOf?.(watcherId) ?? [];
  if (lists.length > 0 && unique.every((u) => lists.some((members) => members.has(u)))) {
    return unique;
  }
  const mine = await membership.conversationsOf(watcherId);
  const visible: boolean[] = [];
  const misses: number[] = [];
  unique.forEach((u, i) => {
    const theirs = u === watcherId ? mine : membership.cachedConversationsOf?.(u);
    if (theirs === undefined) misses.push(i);
    else visible[i] = intersects(mine, theirs);
  });
  if (misses.length > 0 && mine.size <= misses.length) {
    const wanted = new Set(misses.map((i) => unique[i]!));
    const found = new Set<string>();
    await mapLimit([...mine], QUERY_CONCURRENCY, async (c) => {
      for (const m of await membership.membersOf(c)) if (wanted.has(m)) found.add(m);
    });
    for (const i of misses) visible[i] = found.has(unique[i]!);
  } else if (misses.length > 0) {
    const loaded = await mapLimit(misses, QUERY_CONCURRENCY, (i) => sharesConversation(membership, watcherId, unique[i]!));
    misses.forEach((i, k) => (visible[i] = loaded[k]!));
  }
  return unique.filter((_, i) => visible[i]);
}

/** The internal API's routes over the store, membership and typing relay. */
export function presenceRoutes(store: PresenceStore, membership: Membership, typing: TypingRelay): Record<string, InternalHandler> {
  return {
    [PRESENCE_PATHS.report]: async (body) => {
      const r = parseReport(body);
      // Offline first: a user listed in both (reconnected within one batch) ends up online.
      if (r.offline.length > 0) await store.disconnect(r.gateway_id, r.offline);
      if (r.online.length > 0) await store.heartbeat(r.gateway_id, r.online);
      return {};
    },
    [PRESENCE_PATHS.query]: async (body): Promise<PresenceQueryResponse> => {
      const q = parseQuery(body);
      // Cost-bounded: at most MAX_QUERY_USERS ids per check and MAX_QUERY_BATCH_USERS in all
      // (validated). The checks' visible users are read once each, however many watchers see them.
      const visible = await Promise.all(q.checks.map((c) => visibleTo(membership, c.user_id, c.user_ids)));
      const index = new Map<string, number>();
      const users: string[] = [];
      const allowed = visible.map((list) =>
        list.map((u) => {
          let i = index.get(u);
          if (i === undefined) {
            i = users.push(u) - 1;
            index.set(u, i);
          }
          return i;
        }),
      );
      return { users: await store.query(users), allowed };
    },
    [PRESENCE_PATHS.authorize]: async (body): Promise<PresenceAuthorizeResponse> => {
      const a = parseAuthorize(body);
      // Membership only (cached): a gateway re-checks every watcher of a flush in one request.
      return { allowed: await Promise.all(a.checks.map((c) => visibleTo(membership, c.user_id, c.user_ids))) };
    },
    [PRESENCE_PATHS.typing]: async (body): Promise<TypingResponse> => {
      const t = parseTyping(body);
      return { relayed: await typing.typing(t.user_id, t.conversation_id, t.state) };
    },
  };
}
