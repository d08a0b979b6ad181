/** GET /config.json of the server that served this page (shared/web-client/src/server/client-config.ts). */
export interface ClientConfig {
  gateways: string[];
  api_url: string;
  dev_tokens: boolean;
}

/** Reads and checks the page's configuration; a malformed one is an error shown to the user. */
export async function loadClientConfig(): Promise<ClientConfig> {
  const res = await fetch('/config.json', { cache: 'no-store' });
  if (!res.ok) throw new Error(`/config.json answered HTTP ${res.status}`);
  const c = (await res.json()) as Partial<ClientConfig>;
  const gateways = Array.isArray(c.gateways) ? c.gateways.filter((g): g is string => typeof g === 'string') : [];
  if (gateways.length === 0 || typeof c.api_url !== 'string') throw new Error('/config.json names no gateway or no api_url');
  return { gateways, api_url: c.api_url, dev_tokens: c.dev_tokens === true };
}
