import { spawn, type ChildProcess } from 'node:child_process';
import { connect } from 'node:net';
import fc from 'fast-check';
import { errorByName } from '@chat/protocol';
import { waitFor } from './wait.js';

/** One HTTP/1.1 request written byte for byte (fetch would normalize the target). */
export interface RawRequest {
  method: string;
  target: string;
  headers: [string, string][];
  body: string;
}

export interface RawReply {
  status: number;
  headers: Record<string, string>;
  body: string;
}

/** Sends `req` on a fresh connection and reads one reply (content-length, chunked or until close). */
export function rawRequest(port: number, req: RawRequest, timeoutMs = 5000): Promise<RawReply> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    const chunks: Buffer[] = [];
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`no reply within ${timeoutMs} ms to ${req.method} ${JSON.stringify(req.target)}`));
    }, timeoutMs);
    const finish = (closed: boolean): void => {
      const reply = parseReply(Buffer.concat(chunks), closed);
      if (reply === undefined) {
        if (closed) {
          clearTimeout(timer);
          reject(new Error(`connection closed without a complete reply to ${req.method} ${JSON.stringify(req.target)}`));
        }
        return;
      }
      clearTimeout(timer);
      socket.destroy();
      resolve(reply);
    };
    socket.on('data', (d: Buffer) => {
      chunks.push(d);
      finish(false);
    });
    socket.on('close', () => finish(true));
    socket.on('error', () => undefined); // 'close' follows
    const body = Buffer.from(req.body, 'utf8');
    const head = [
      `${req.method} ${req.target} HTTP/1.1`,
      'host: 127.0.0.1',
      ...req.headers.map(([k, v]) => `${k}: ${v}`),
      `content-length: ${body.length}`,
      'connection: close',
    ];
    // write, not end: Node aborts a request whose client half-closes before the reply.
    socket.write(Buffer.concat([Buffer.from(`${head.join('\r\n')}\r\n\r\n`, 'latin1'), body]));
  });
}

function parseReply(buf: Buffer, closed: boolean): RawReply | undefined {
  const end = buf.indexOf('\r\n\r\n');
  if (end < 0) return undefined;
  const lines = buf.subarray(0, end).toString('latin1').split('\r\n');
  const m = /^HTTP\/1\.1 (\d{3})/.exec(lines[0] ?? '');
  if (!m) throw new Error(`not an HTTP reply: ${JSON.stringify(lines[0])}`);
  const headers: Record<string, string> = {};
  for (const line of lines.slice(1)) {
    const i = line.indexOf(':');
    headers[line.slice(0, i).trim().toLowerCase()] = line.slice(i + 1).trim();
  }
  const rest = buf.subarray(end + 4);
  const status = Number(m[1]);
  if (status === 101) return { status, headers, body: '' }; // a WebSocket upgrade: no body follows
  if (headers['content-length'] !== undefined) {
    const n = Number(headers['content-length']);
    return rest.length >= n ? { status, headers, body: rest.subarray(0, n).toString('utf8') } : undefined;
  }
  if (headers['transfer-encoding'] === 'chunked') {
    const out: Buffer[] = [];
    let at = 0;
    for (;;) {
      const eol = rest.indexOf('\r\n', at);
      if (eol < 0) return undefined;
      const size = parseInt(rest.subarray(at, eol).toString('latin1'), 16);
      if (size === 0) return { status, headers, body: Buffer.concat(out).toString('utf8') };
      if (rest.length < eol + 2 + size + 2) return undefined;
      out.push(rest.subarray(eol + 2, eol + 2 + size));
      at = eol + 2 + size + 2;
    }
  }
  return closed ? { status, headers, body: rest.toString('utf8') } : undefined;
}

/**
 * A well-formed reply: an error is `{error:{code,name,message,retry}}` naming a registry error
 * whose HTTP status is the reply's; a success is JSON (or Prometheus text for /metrics).
 * Returns a description of what is wrong, or undefined.
 */
export function problemWithReply(reply: RawReply): string | undefined {
  if (reply.status === 101) return reply.headers.upgrade?.toLowerCase() === 'websocket' ? undefined : '101 without upgrade: websocket';
  const type = reply.headers['content-type'] ?? '';
  if (reply.status >= 200 && reply.status < 300 && type.startsWith('text/plain')) return undefined; // /metrics
  if (!type.startsWith('application/json')) return `status ${reply.status} with content-type ${JSON.stringify(type)}`;
  let body: unknown;
  try {
    body = JSON.parse(reply.body);
  } catch {
    return `status ${reply.status} with a body that is not JSON: ${JSON.stringify(reply.body.slice(0, 200))}`;
  }
  if (reply.status >= 200 && reply.status < 300) return undefined;
  const e = (body as { error?: Record<string, unknown> } | null)?.error;
  if (typeof e !== 'object' || e === null) return `status ${reply.status} without an error object`;
  const def = typeof e.name === 'string' ? errorByName(e.name) : undefined;
  if (!def || def.code !== e.code || typeof e.message !== 'string' || e.retry !== def.retry) return `error ${JSON.stringify(e)} is not a registry error`;
  // A reply from the HTTP parser itself may carry 408/431; the code is still the registry's.
  if (def.httpStatus !== reply.status && ![408, 431].includes(reply.status)) return `status ${reply.status} but ${def.name} maps to ${def.httpStatus}`;
  return undefined;
}

const segmentChars = fc.constantFrom(...'abcz019-._~%25%zz%%/:@!$&\'()*+,;=[]{}|\\^`"<>'.split(''), '%00', '%2F', '%C3%A9', '%E2%82', '%', '..', '//');
const segment = fc.oneof(
  fc.string({ unit: segmentChars, maxLength: 12 }),
  fc.constantFrom(
    'v1',
    'conversations',
    'members',
    'messages',
    'internal',
    'healthz',
    'metrics',
    'ws',
    'presence',
    'typing',
    'report',
    'query',
    'send-batch',
    'sync',
    'history',
  ),
  fc.bigInt({ min: 0n, max: 1n << 70n }).map(String),
);

/** Request targets: known routes bent out of shape, odd forms ("//", "*", absolute) and junk. */
export function targetArb(knownPaths: readonly string[]): fc.Arbitrary<string> {
  const path = fc.array(segment, { maxLength: 6 }).map((s) => `/${s.join('/')}`);
  const known = fc.constantFrom(...knownPaths);
  const bent = fc.tuple(known, fc.nat(), segment).map(([p, n, s]) => {
    const parts = p.split('/');
    parts[n % parts.length] = s;
    return parts.join('/');
  });
  const query = fc.option(fc.string({ unit: fc.constantFrom(...'ab=&%zz%25?#+access_token'.split('')), maxLength: 20 }), { nil: undefined });
  return (
    fc
      .tuple(
        fc.oneof(
          path,
          known,
          bent,
          fc.constantFrom(
            '//',
            '///',
            '/%',
            '/%zz',
            '*',
            'http://127.0.0.1/healthz',
            '//healthz',
            '/v1/conversations/%',
            '/v1/conversations/%E0%A4%A/messages',
            '/\u00e9',
          ),
        ),
        query,
      )
      .map(([p, q]) => (q === undefined ? p : `${p}?${q}`))
      // biome-ignore lint/suspicious/noControlCharactersInRegex: a request target cannot carry control characters
      .map((t) => t.replace(/[\s\u0000-\u001f\u007f]/g, '') || '/')
  );
}

const headerName = fc
  .stringMatching(/^[a-z][a-z0-9!#$%&'*+.^_`|~-]{0,20}$/)
  .filter((n) => !['content-length', 'transfer-encoding', 'connection', 'host', 'upgrade', 'expect'].includes(n));
const headerValue = fc.string({ unit: fc.constantFrom(...'abcXYZ019 ;,=/+-_.:"\'()\t'.split('')), maxLength: 40 }).map((v) => v.trim());

/** Valid credentials the fuzzer sometimes presents, so requests also get past authentication. */
export interface FuzzSecrets {
  internalToken?: string;
  /** A valid access token (JWT). */
  bearer?: string;
}

/** Headers: random ones plus the ones routes read (content-type, authorization, internal token, ws upgrade). */
export function headersArb(secrets: FuzzSecrets = {}): fc.Arbitrary<[string, string][]> {
  const internal = secrets.internalToken === undefined ? headerValue : fc.oneof(headerValue, fc.constant(secrets.internalToken));
  const bearer = secrets.bearer === undefined ? fc.constant('Bearer a.b.c') : fc.constantFrom('Bearer a.b.c', `Bearer ${secrets.bearer}`);
  const known: [string, fc.Arbitrary<string>][] = [
    ['content-type', fc.constantFrom('application/json', 'application/json; charset=utf-8', 'text/plain', '')],
    [
      'authorization',
      fc.oneof(
        headerValue,
        headerValue.map((v) => `Bearer ${v}`),
        bearer,
      ),
    ],
    ['x-internal-token', internal],
    ['origin', fc.constantFrom('https://chat.example', 'null', 'http://evil.example')],
    ['upgrade', fc.constantFrom('websocket', 'h2c')],
    ['sec-websocket-key', fc.constantFrom('dGhlIHNhbXBsZSBub25jZQ==', 'x', '')],
    ['sec-websocket-version', fc.constantFrom('13', '8', 'x')],
    ['sec-websocket-protocol', fc.constantFrom('bearer, x.y.z', 'bearer', ',,,')],
  ];
  const picked: fc.Arbitrary<[string, string][]> = fc
    .subarray(known)
    .chain((ks) => fc.tuple(...ks.map(([k, arb]) => arb.map((v): [string, string] => [k, v]))).map((pairs): [string, string][] => [...pairs]));
  const name = fc.oneof({ arbitrary: headerName.map((n) => n.replace(/[^a-z0-9-]/g, '-')), weight: 9 }, { arbitrary: headerName, weight: 1 });
  return fc.tuple(picked, fc.array(fc.tuple(name, headerValue), { maxLength: 4 })).map(([a, b]) => [...a, ...b]);
}

/** Bodies: empty, junk, arbitrary JSON, JSON shaped like the API's requests with odd values. */
export function bodyArb(): fc.Arbitrary<string> {
  const idLike = fc.oneof(
    fc.bigInt({ min: -5n, max: 1n << 70n }).map(String),
    fc.constantFrom('0', '01', '', ' 1', '1e3', '%zz'),
    fc.integer(),
    fc.constant(null),
  );
  const shaped = fc
    .record(
      {
        kind: fc.constantFrom('direct', 'group', 'x'),
        user_id: fc.oneof(fc.string({ maxLength: 10 }), idLike),
        member_ids: fc.array(fc.string({ maxLength: 8 }), { maxLength: 3 }),
        user_ids: fc.array(fc.string({ maxLength: 8 }), { maxLength: 3 }),
        conversation_id: idLike,
        positions: fc.array(fc.record({ conversation_id: idLike, seq: fc.oneof(fc.integer(), fc.double(), fc.string()) }), { maxLength: 3 }),
        requests: fc.array(
          fc.record({
            user_id: fc.string({ maxLength: 8 }),
            conversation_id: idLike,
            client_msg_id: fc.string({ maxLength: 8 }),
            body: fc.string({ maxLength: 20 }),
          }),
          { maxLength: 3 },
        ),
        gateway_id: fc.string({ maxLength: 8 }),
        online: fc.array(fc.string({ maxLength: 8 }), { maxLength: 3 }),
        state: fc.constantFrom('start', 'stop', 'x'),
        before: idLike,
        limit: idLike,
      },
      { requiredKeys: [] },
    )
    .map((o) => JSON.stringify(o));
  return fc.oneof(
    fc.constant(''),
    fc.string({ maxLength: 100 }),
    fc.json({ maxDepth: 3 }),
    shaped,
    fc.constantFrom('{', '[]', 'null', '"\\ud800"', '{"__proto__":{"x":1}}'),
  );
}

export const KNOWN_METHODS = ['GET', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS'] as const;
const methodArb = fc.oneof({ arbitrary: fc.constantFrom(...KNOWN_METHODS), weight: 9 }, { arbitrary: fc.stringMatching(/^[A-Z]{1,8}$/), weight: 1 });

/** A whole request for a listener whose routes are `knownPaths`. */
export function requestArb(knownPaths: readonly string[], secrets: FuzzSecrets = {}): fc.Arbitrary<RawRequest> {
  return fc.record({ method: methodArb, target: targetArb(knownPaths), headers: headersArb(secrets), body: bodyArb() });
}

/**
 * Fuzzes one listener: every request must get a well-formed reply (see problemWithReply), and
 * `alive()` must hold after each. Throws fast-check's counterexample report otherwise.
 */
export async function fuzzListener(
  port: number,
  knownPaths: readonly string[],
  alive: () => Promise<boolean>,
  opts: {
    numRuns?: number;
    secrets?: FuzzSecrets;
    /**
     * Requests the listener's HTTP parser may drop without a reply (uWS closes the connection, or
     * lets it idle out, on an unknown method, a target that is not a path, or an odd header name,
     * before any of our code runs). Only liveness is asserted for them.
     */
    parserMayDrop?: (req: RawRequest) => boolean;
  } = {},
): Promise<void> {
  await fc.assert(
    fc.asyncProperty(requestArb(knownPaths, opts.secrets), async (req) => {
      if (opts.parserMayDrop?.(req)) {
        const answered = await rawRequest(port, req, 200).catch(() => undefined);
        if (answered !== undefined && problemWithReply(answered) !== undefined)
          throw new Error(`${req.method} ${JSON.stringify(req.target)}: ${problemWithReply(answered)}`);
        if (!(await alive())) throw new Error(`listener died after ${req.method} ${JSON.stringify(req.target)}`);
        return;
      }
      const reply = await rawRequest(port, req);
      const problem = problemWithReply(reply);
      if (problem !== undefined) throw new Error(`${req.method} ${JSON.stringify(req.target)}: ${problem}`);
      if (!(await alive())) throw new Error(`listener died after ${req.method} ${JSON.stringify(req.target)}`);
    }),
    { numRuns: opts.numRuns ?? 150, endOnFailure: true },
  );
}

/** What uWS v20.30's HTTP parser accepts: a known method, an origin-form target, header names of [a-z0-9-]. */
export function uwsMayDrop(req: RawRequest): boolean {
  return !(KNOWN_METHODS as readonly string[]).includes(req.method) || !req.target.startsWith('/') || req.headers.some(([name]) => !/^[a-z0-9-]+$/.test(name));
}

/** A service main started as its own process, as `npm start` runs it. */
export interface ServiceProcess {
  child: ChildProcess;
  /** Still running (no exit code, no signal). */
  running(): boolean;
  stderr(): string;
  stop(): Promise<void>;
}

/** Spawns `main` with `env` and waits until `ready()` holds; fails fast if the process exits. */
export async function spawnService(main: string, env: NodeJS.ProcessEnv, ready: () => Promise<boolean>, what: string): Promise<ServiceProcess> {
  const child = spawn(process.execPath, [main], { env, stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  child.stderr?.on('data', (d: Buffer) => {
    err = (err + d.toString('utf8')).slice(-8000);
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const running = () => child.exitCode === null && child.signalCode === null;
  await waitFor(
    async () => {
      if (!running()) throw new Error(`${what} exited with ${child.exitCode}: ${err}`);
      return ready().catch(() => false);
    },
    30_000,
    `${what} to listen`,
  );
  return {
    child,
    running,
    stderr: () => err,
    stop: async () => {
      if (running()) child.kill('SIGTERM');
      await exited;
    },
  };
}
