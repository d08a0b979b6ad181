import { ChatApp } from './chat-app.js';
import { loadClientConfig } from './client-config.js';
import { el, replaceChildren } from './dom.js';
import { signIn } from './sign-in.js';

/** The page: configuration, sign-in, then the app. */
async function main(root: HTMLElement): Promise<void> {
  const config = await loadClientConfig();
  const session = await signIn(root, config);
  document.title = `${session.tokens.userId} · Chat`;
  const app = new ChatApp(root, { gateways: session.gateways, apiUrl: config.api_url, tokens: session.tokens });
  await app.start();
}

const root = document.getElementById('app');
if (root)
  main(root).catch((err: Error) => {
    replaceChildren(root, el('p', { class: 'error', role: 'alert', 'data-testid': 'fatal' }, `Could not start: ${err.message}`));
  });
