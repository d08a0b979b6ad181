import type { IncomingMessage, ServerResponse } from 'node:http';
import { decodePathSegment } from '@chat/server/http';

export interface RouteContext {
  req: IncomingMessage;
  res: ServerResponse;
  params: Record<string, string>;
  query: URLSearchParams;
}

type Handler = (ctx: RouteContext) => Promise<void>;

interface Route {
  method: string;
  pattern: RegExp;
  names: string[];
  handler: Handler;
}

/** Method + path routing with `:param` segments; nothing more. */
export class Router {
  private readonly routes: Route[] = [];

  on(method: string, path: string, handler: Handler): this {
    const names: string[] = [];
    const pattern = new RegExp(
      `^${path.replace(/:([a-z_]+)/g, (_, name: string) => {
        names.push(name);
        return '([^/]+)';
      })}$`,
    );
    this.routes.push({ method, pattern, names, handler });
    return this;
  }

  /** The methods some route serves at `pathname` (percent-encoded), for CORS preflights; empty when none. */
  methodsFor(pathname: string): string[] {
    return [...new Set(this.routes.filter((r) => r.pattern.test(pathname)).map((r) => r.method))];
  }

  /** The handler for a request, or 'not_found' / 'method_not_allowed'. `pathname` is still percent-encoded. Never throws. */
  match(method: string, pathname: string): { handler: Handler; params: Record<string, string> } | 'not_found' | 'method_not_allowed' {
    let pathMatched = false;
    for (const route of this.routes) {
      const m = route.pattern.exec(pathname);
      if (!m) continue;
      pathMatched = true;
      if (route.method !== method) continue;
      const params: Record<string, string> = {};
      for (const [i, name] of route.names.entries()) {
        // A malformed escape names no resource: 404, never an exception.
        const value = decodePathSegment(m[i + 1] ?? '');
        if (value === undefined) return 'not_found';
        params[name] = value;
      }
      return { handler: route.handler, params };
    }
    return pathMatched ? 'method_not_allowed' : 'not_found';
  }
}
