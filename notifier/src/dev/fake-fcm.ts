import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/** A push as the fake endpoint received it: FCM's v1 `message` object. */
export interface RecordedPush {
  at: number;
  token: string;
  message: Record<string, unknown>;
  /** The status the fake answered with; 0 while it holds the request unanswered (`hang`). */
  status: number;
}

export interface FakeAnswer {
  status: number;
  body?: unknown;
  headers?: Record<string, string>;
  /** Never answer: the request stays open until the client gives up or the fake closes (FCM hanging). */
  hang?: true;
}

/** An answer that never comes. */
export const HANG: FakeAnswer = { status: 0, hang: true };

/** FCM's v1 error body for an FcmError code (UNREGISTERED, INVALID_ARGUMENT, QUOTA_EXCEEDED, UNAVAILABLE, INTERNAL). */
export function fcmError(status: number, errorCode: string): FakeAnswer {
  return {
    status,
    body: {
      error: { code: status, message: errorCode, status: errorCode, details: [{ '@type': 'type.googleapis.com/google.firebase.fcm.v1.FcmError', errorCode }] },
    },
  };
}

/**
 * A local stand-in for FCM's `POST /v1/projects/:id/messages:send` (plain HTTP on 127.0.0.1): it
 * records every request and answers 200 unless `answer` says otherwise. `npm start` runs the
 * notifier against one that only logs what would be pushed; tests script its answers.
 */
export class FakeFcm {
  readonly pushes: RecordedPush[] = [];
  /** Chooses the answer per request; default: accepted. */
  answer: (token: string, attempt: number) => FakeAnswer | undefined = () => undefined;
  private readonly attemptsByToken = new Map<string, number>();
  private server: Server | null = null;
  private counter = 0;

  constructor(private readonly onPush: (p: RecordedPush) => void = () => {}) {}

  async listen(port = 0, host = '127.0.0.1'): Promise<{ host: string; port: number }> {
    const server = createServer((req, res) => {
      void this.handle(req).then(
        (a) => {
          if (a.hang) return;
          const body = JSON.stringify(a.body ?? {});
          res.writeHead(a.status, { 'content-type': 'application/json', ...a.headers });
          res.end(body);
        },
        () => {
          res.writeHead(400, { 'content-type': 'application/json' });
          res.end('{"error":{"code":400,"status":"INVALID_ARGUMENT","message":"bad request"}}');
        },
      );
    });
    this.server = server;
    await new Promise<void>((resolve) => server.listen(port, host, resolve));
    return { host, port: (server.address() as AddressInfo).port };
  }

  private async handle(req: IncomingMessage): Promise<FakeAnswer> {
    if (req.method !== 'POST' || !/^\/v1\/projects\/[^/]+\/messages:send$/.test(req.url ?? '')) return fcmError(404, 'NOT_FOUND');
    const chunks: Buffer[] = [];
    for await (const c of req as AsyncIterable<Buffer>) chunks.push(c);
    const { message } = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { message: Record<string, unknown> };
    const token = typeof message.token === 'string' ? message.token : '';
    const attempt = (this.attemptsByToken.get(token) ?? 0) + 1;
    this.attemptsByToken.set(token, attempt);
    const a = this.answer(token, attempt) ?? { status: 200, body: { name: `projects/local-fake/messages/${++this.counter}` } };
    const push = { at: Date.now(), token, message, status: a.status };
    this.pushes.push(push);
    this.onPush(push);
    return a;
  }

  /** Requests held unanswered (`hang`) so far. */
  hung(): RecordedPush[] {
    return this.pushes.filter((p) => p.status === 0);
  }

  /** Pushes FCM accepted for `token`: answered 200 (a request held unanswered was not accepted). */
  delivered(token: string): RecordedPush[] {
    return this.pushes.filter((p) => p.token === token && p.status === 200);
  }

  async close(): Promise<void> {
    const server = this.server;
    if (!server) return;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}
