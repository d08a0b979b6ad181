import { readFileSync } from 'node:fs';
import { Agent, type AgentOptions } from 'node:https';
import type { ClientRequest, IncomingMessage } from 'node:http';
import { connect, type Socket } from 'node:net';
import { cert, deleteApp, initializeApp, type App } from 'firebase-admin/app';
import { getMessaging, type Messaging } from 'firebase-admin/messaging';

/** Where pushes go: real FCM with a service account, or a local fake endpoint (plain HTTP on 127.0.0.0/8). */
export type FcmTarget = { kind: 'fcm'; projectId: string; credentialsFile: string } | { kind: 'local'; host: string; port: number };

/**
 * Remembers the longest Retry-After FCM asked for: firebase-admin reports errors without their
 * headers, so the agent reads them off the responses. FCM throttles per project, so one deadline
 * for every retry is what it asks for.
 */
export class RetryAfterTracker {
  private until = 0;

  observe(res: IncomingMessage): void {
    const raw = res.headers['retry-after'];
    if (raw === undefined || (res.statusCode ?? 0) < 429) return;
    const seconds = Number(raw);
    const ms = Number.isFinite(seconds) ? seconds * 1000 : Date.parse(raw) - Date.now();
    if (Number.isFinite(ms) && ms > 0) this.until = Math.max(this.until, Date.now() + Math.min(ms, 3_600_000));
  }

  /** How long from now FCM asked us to wait (0: no wish). */
  remainingMs(now = Date.now()): number {
    return Math.max(0, this.until - now);
  }
}

class ObservingAgent extends Agent {
  constructor(
    options: AgentOptions,
    private readonly tracker: RetryAfterTracker,
    private readonly local: { host: string; port: number } | null,
  ) {
    super(options);
  }

  // Every request firebase-admin makes passes here (legacy HTTP/1.1 transport).
  addRequest(req: ClientRequest, options: unknown): void {
    req.once('response', (res: IncomingMessage) => this.tracker.observe(res));
    (Agent.prototype as unknown as { addRequest(r: ClientRequest, o: unknown): void }).addRequest.call(this, req, options);
  }

  // The local fake speaks plain HTTP: the request still names https://fcm.googleapis.com, but the
  // connection goes to 127.0.0.1 and carries no TLS. Real FCM uses the default TLS connection.
  override createConnection(...args: Parameters<Agent['createConnection']>): ReturnType<Agent['createConnection']> {
    if (this.local === null) return super.createConnection(...args);
    return connect(this.local.port, this.local.host) as Socket as unknown as ReturnType<Agent['createConnection']>;
  }
}

export interface FcmClient {
  messaging: Messaging;
  retryAfter: RetryAfterTracker;
  close(): Promise<void>;
}

/** firebase-admin wired to `target`, on its HTTP/1.1 transport (the HTTP/2 one ignores the agent). */
export function createFcmClient(target: FcmTarget, name: string): FcmClient {
  const retryAfter = new RetryAfterTracker();
  const agent = new ObservingAgent({ keepAlive: true, maxSockets: 64 }, retryAfter, target.kind === 'local' ? target : null);
  let app: App;
  if (target.kind === 'fcm') {
    const serviceAccount = JSON.parse(readFileSync(target.credentialsFile, 'utf8')) as Record<string, string>;
    app = initializeApp({ projectId: target.projectId, credential: cert(serviceAccount, agent), httpAgent: agent }, name);
  } else {
    app = initializeApp(
      {
        projectId: 'local-fake',
        credential: { getAccessToken: async () => ({ access_token: 'local-fake-token', expires_in: 3600 }) },
        httpAgent: agent,
      },
      name,
    );
  }
  const messaging = getMessaging(app);
  messaging.enableLegacyHttpTransport();
  return {
    messaging,
    retryAfter,
    close: async () => {
      await deleteApp(app);
      agent.destroy();
    },
  };
}
