/** Where the access token comes from: the development endpoint, or a token the user pasted. */
export interface TokenSource {
  readonly userId: string;
  /** Called on every (re)connect and before `exp` (in-band refresh). */
  getToken(): Promise<string>;
}

/** The user id (`sub`) a JWT names; undefined when it is not a JWT. The server verifies it, this only labels the UI. */
export function subjectOf(token: string): string | undefined {
  const part = token.split('.')[1];
  if (part === undefined) return undefined;
  try {
    const json = JSON.parse(atob(part.replace(/-/g, '+').replace(/_/g, '/'))) as { sub?: unknown };
    return typeof json.sub === 'string' ? json.sub : undefined;
  } catch {
    return undefined;
  }
}

/** Development tokens from POST /dev/token of the page's own server; a fresh one whenever the SDK asks. */
export async function devTokenSource(userId: string): Promise<TokenSource> {
  const fetchToken = async (): Promise<string> => {
    const res = await fetch('/dev/token', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ user_id: userId }) });
    const body = (await res.json().catch(() => null)) as { token?: string; error?: { message?: string } } | null;
    if (!res.ok || typeof body?.token !== 'string') throw new Error(body?.error?.message ?? `POST /dev/token answered HTTP ${res.status}`);
    return body.token;
  };
  let token = await fetchToken(); // fails sign-in early on a bad user id
  let fresh = true;
  return {
    userId,
    getToken: async () => {
      if (!fresh) token = await fetchToken();
      fresh = false;
      return token;
    },
  };
}

/** A pasted token (production identity providers): used as is until it expires. */
export function pastedTokenSource(token: string): TokenSource {
  const userId = subjectOf(token);
  if (userId === undefined) throw new Error('that is not a JWT');
  return { userId, getToken: async () => token };
}
