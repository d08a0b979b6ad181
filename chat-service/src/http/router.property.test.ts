import fc from 'fast-check';
import { TokenVerifier } from '@chat/server/auth';
import { parseRequestTarget } from '@chat/server/http';
import { createLogger } from '@chat/server/logger';
import { LocalRateLimiter } from '@chat/server/rate-limit';
import { describe, expect, it } from 'vitest';
import type { AttachmentService } from '../attachments/attachment-service.js';
import type { ConversationService } from '../conversations/conversation-service.js';
import type { DeviceService } from '../devices/device-service.js';
import type { ReadService } from '../read/read-service.js';
import type { SendService } from '../send/send-service.js';
import { registerInternalRoutes } from './internal-routes.js';
import type { ReadCounts } from '../inbox/read-counts.js';
import type { PushStateService } from '../inbox/push-state.js';
import type { InboxService } from '../inbox/inbox-service.js';
import { registerPublicRoutes } from './public-routes.js';
import { Router } from './router.js';

// Property-based fuzzing of REST routing: the real route tables of both listeners, any method and
// any path. (The listener-level fuzz, over raw HTTP, is in chat-service/test/http-robustness.test.ts.)
const RUNS = { numRuns: 2000 };
const TIMEOUT_MS = 60_000;

/** A Router that also remembers its route templates, so properties can walk them. */
class RecordingRouter extends Router {
  readonly templates: { method: string; path: string }[] = [];

  override on(method: string, path: string, handler: Parameters<Router['on']>[2]): this {
    this.templates.push({ method, path });
    return super.on(method, path, handler);
  }
}

// Handlers are never called here: routing alone is under test.
const publicRouter = new RecordingRouter();
registerPublicRoutes(publicRouter, {
  verifier: new TokenVerifier({ issuer: 'i', audience: 'a', hs256Secret: 's', publicKeys: [] }),
  conversations: {} as ConversationService,
  reads: {} as ReadService,
  attachments: {} as AttachmentService,
  devices: {} as DeviceService,
  inbox: {} as InboxService,
  readCounts: {} as ReadCounts,
  maxGroupMembers: 10,
  limits: { perAddress: new LocalRateLimiter({ points: 1, durationSeconds: 1 }), perUser: new LocalRateLimiter({ points: 1, durationSeconds: 1 }) },
});
const internalRouter = new RecordingRouter();
registerInternalRoutes(internalRouter, {
  internalToken: 't',
  sends: {} as SendService,
  reads: {} as ReadService,
  inbox: {} as InboxService,
  pushStates: {} as PushStateService,
  maxBodyBytes: 100,
  sendDeadlineMs: 1000,
  metrics: { observeSendStage: () => undefined },
  log: createLogger('router-property-test', 'silent'),
});
const ROUTERS = [publicRouter, internalRouter];
const METHODS = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'HEAD', 'OPTIONS', 'TRACE', 'CONNECT', 'get', 'Post', ''];

const templateArb = fc.constantFrom(...ROUTERS.flatMap((router) => router.templates.map((t) => ({ router, ...t }))));
const segmentChars = fc.string({ unit: fc.constantFrom(...'/%?#.:@-_~+ 0123456789abcdefABCDEF'.split('')), maxLength: 12 });
/** Paths near the real ones: templates with parameters filled with anything, segments added, dropped or mangled. */
const pathArb = fc.oneof(
  fc.tuple(templateArb, fc.array(fc.oneof(segmentChars, fc.string({ unit: 'binary', maxLength: 8 })), { minLength: 3, maxLength: 3 })).map(([t, fills]) => {
    let i = 0;
    return t.path.replace(/:[a-z_]+/g, () => fills[i++ % fills.length]!);
  }),
  fc.tuple(templateArb, segmentChars).map(([t, extra]) => `${t.path}${extra}`),
  fc.tuple(templateArb, fc.nat()).map(([t, cut]) => t.path.slice(0, cut % (t.path.length + 1))),
  fc.string({ unit: 'binary', maxLength: 40 }).map((s) => `/${s}`),
  fc.webPath(),
);

describe('REST router (property-based)', () => {
  it(
    'hostile input: any method and path is routed or answered not_found / method_not_allowed, never an exception',
    () => {
      fc.assert(
        fc.property(fc.constantFrom(...ROUTERS), fc.oneof(fc.constantFrom(...METHODS), fc.string({ maxLength: 8 })), pathArb, (router, method, path) => {
          const match = router.match(method, path);
          if (typeof match === 'string') expect(['not_found', 'method_not_allowed']).toContain(match);
          else for (const value of Object.values(match.params)) expect(typeof value).toBe('string');
        }),
        RUNS,
      );
    },
    TIMEOUT_MS,
  );

  it(
    'hostile input: a route with any non-empty parameters, percent-encoded, is matched and its parameters decode to exactly what was encoded',
    () => {
      const param = fc.oneof(
        fc.string({ minLength: 1, maxLength: 20 }),
        fc.string({ unit: 'binary', minLength: 1, maxLength: 10 }),
        fc.constantFrom('..', '.', '%', '%2F', '?', '#', '/'),
      );
      fc.assert(
        fc.property(templateArb, fc.array(param, { minLength: 2, maxLength: 2 }), ({ router, method, path }, values) => {
          const names = [...path.matchAll(/:([a-z_]+)/g)].map((m) => m[1]!);
          let i = 0;
          const target = path.replace(/:[a-z_]+/g, () => encodeURIComponent(values[i++]!));
          const match = router.match(method, target);
          if (typeof match === 'string') throw new Error(`${method} ${target}: ${match}`);
          expect(match.params).toEqual(Object.fromEntries(names.map((n, k) => [n, values[k]])));
        }),
        RUNS,
      );
    },
    TIMEOUT_MS,
  );

  it(
    'hostile input: a parameter with a malformed % escape names nothing (not_found), and a known path with another method is method_not_allowed',
    () => {
      const malformed = fc.constantFrom('%', '%2', '%zz', '%E0%A4%A', 'a%', '%C0%AF', '%ED%A0%80');
      fc.assert(
        fc.property(
          templateArb.filter((t) => t.path.includes(':')),
          malformed,
          fc.constantFrom(...METHODS),
          ({ router, method, path }, bad, other) => {
            expect(router.match(method, path.replace(/:[a-z_]+/g, bad))).toBe('not_found');
            const target = path.replace(/:[a-z_]+/g, '1');
            const sameShape = router.templates.filter(
              (t) => t.path.replace(/:[a-z_]+/g, '1') === target || new RegExp(`^${t.path.replace(/:[a-z_]+/g, '[^/]+')}$`).test(target),
            );
            if (!sameShape.some((t) => t.method === other)) expect(router.match(other, target)).toBe('method_not_allowed');
          },
        ),
        RUNS,
      );
    },
    TIMEOUT_MS,
  );

  it(
    'hostile input: parseRequestTarget never throws and keeps the path and query apart for any target',
    () => {
      fc.assert(
        fc.property(fc.oneof(fc.string({ unit: 'binary', maxLength: 60 }), fc.webUrl({ withQueryParameters: true, withFragments: true }), pathArb), (raw) => {
          const target = parseRequestTarget(raw);
          if (!raw.startsWith('/')) expect(target).toBeUndefined();
          else {
            expect(target).toBeDefined();
            expect(target!.pathname.startsWith('/')).toBe(true);
            expect(target!.pathname).not.toContain('?');
            expect(target!.pathname).not.toContain('#');
          }
        }),
        RUNS,
      );
    },
    TIMEOUT_MS,
  );
});
