import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ChatError, Errors } from '@chat/protocol';
import { replyJsonOnClientError } from '@chat/server/http';
import type { Logger } from '@chat/server/logger';
import type { ClientConfig } from './client-config.js';
import { issueDevToken, type DevTokenSettings } from './dev-token.js';
import { clientRoots, findStaticFile, type StaticRoot } from './static-files.js';

export interface WebClientServerOptions {
  host: string;
  /** 0 picks a free port. */
  port: number;
  /** What the page is told: gateways, REST base URL. */
  gateways: string[];
  apiUrl: string;
  /** Signing settings of POST /dev/token; absent: the endpoint does not exist (404). */
  devTokens?: DevTokenSettings;
  log: Logger;
  /** @default clientRoots() */
  roots?: StaticRoot[];
}

export interface RunningWebClientServer {
  /** e.g. http://127.0.0.1:8088 */
  url: string;
  port: number;
  close(): Promise<void>;
}

/** Largest POST /dev/token body. */
const MAX_BODY_BYTES = 1024;

/**
 * Serves the browser chat client: the page, its modules, GET /config.json (where the gateways and
 * the REST API are) and, in development, POST /dev/token. Only GET and HEAD on files; every
 * refusal is the API's JSON error body.
 */
export async function startWebClientServer(options: WebClientServerOptions): Promise<RunningWebClientServer> {
  const roots = options.roots ?? clientRoots();
  const config: ClientConfig = { gateways: options.gateways, api_url: options.apiUrl, dev_tokens: options.devTokens !== undefined };
  const configBody = Buffer.from(JSON.stringify(config));

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const pathname = (req.url ?? '/').split('?')[0] ?? '/';
    if (pathname === '/dev/token' && options.devTokens) {
      if (req.method !== 'POST') throw new ChatError(Errors.NOT_FOUND, 'POST /dev/token');
      const reply = issueDevToken(options.devTokens, await readBody(req));
      return send(res, 200, 'application/json', Buffer.from(JSON.stringify(reply)));
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') throw new ChatError(Errors.NOT_FOUND, 'only GET and HEAD');
    if (pathname === '/config.json') return send(res, 200, 'application/json', configBody, req.method === 'HEAD');
    const file = await findStaticFile(roots, pathname);
    if (!file) throw new ChatError(Errors.NOT_FOUND);
    send(res, 200, file.contentType, file.body, req.method === 'HEAD');
  };

  const server: Server = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      const chat = err instanceof ChatError ? err : new ChatError(Errors.INTERNAL);
      if (!(err instanceof ChatError)) options.log.error({ err }, 'web client request failed');
      if (res.headersSent) return void res.destroy();
      send(res, chat.def.httpStatus, 'application/json', Buffer.from(JSON.stringify({ error: chat.toJSON() })));
    });
  });
  replyJsonOnClientError(server);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://${options.host}:${port}`,
    port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

function send(res: ServerResponse, status: number, contentType: string, body: Buffer, headOnly = false): void {
  res.writeHead(status, {
    'content-type': contentType,
    'content-length': String(body.length),
    'cache-control': 'no-store',
    'x-content-type-options': 'nosniff',
    'referrer-policy': 'no-referrer',
  });
  res.end(headOnly ? undefined : body);
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY_BYTES) {
        reject(new ChatError(Errors.BODY_TOO_LARGE, `body over ${MAX_BODY_BYTES} bytes`));
        req.resume();
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}
