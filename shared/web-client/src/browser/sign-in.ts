import type { ClientConfig } from './client-config.js';
import { el, replaceChildren } from './dom.js';
import { devTokenSource, pastedTokenSource, type TokenSource } from './token-source.js';

export interface SignedIn {
  tokens: TokenSource;
  /** The chosen gateway first, then the others (reconnects move on through them). */
  gateways: string[];
}

/**
 * The sign-in form: a user id (development tokens) or a pasted token, and the gateway to use:
 * any of the configured ones, or another URL typed in. `?user=` and `?gateway=` prefill it.
 */
export function signIn(root: HTMLElement, config: ClientConfig): Promise<SignedIn> {
  const params = new URLSearchParams(location.search);
  const userInput = el('input', { name: 'user', placeholder: 'alice', autocomplete: 'username', required: config.dev_tokens, 'data-testid': 'user-id' });
  userInput.value = params.get('user') ?? '';
  const tokenInput = el('textarea', { name: 'token', placeholder: 'access token (JWT)', rows: '3', required: !config.dev_tokens, 'data-testid': 'token' });
  const gatewayInput = el('input', { name: 'gateway', list: 'gateways', required: true, 'data-testid': 'gateway' });
  gatewayInput.value = params.get('gateway') ?? config.gateways[0] ?? '';
  const error = el('p', { class: 'error', role: 'alert' });
  const button = el('button', { type: 'submit', 'data-testid': 'sign-in' }, 'Sign in');
  const form = el(
    'form',
    { class: 'sign-in' },
    el('h1', {}, 'Chat'),
    config.dev_tokens ? el('label', {}, 'User id (development sign-in) ', userInput) : el('label', {}, 'Access token ', tokenInput),
    el('label', {}, 'Gateway ', gatewayInput),
    el('datalist', { id: 'gateways' }, ...config.gateways.map((g) => el('option', { value: g }))),
    button,
    error,
  );
  replaceChildren(root, form);
  userInput.focus();
  return new Promise((resolve) => {
    form.addEventListener('submit', (e) => {
      e.preventDefault();
      error.textContent = '';
      button.disabled = true;
      const gateway = gatewayInput.value.trim();
      (async () => {
        if (!/^wss?:\/\//.test(gateway)) throw new Error('the gateway URL starts with ws:// or wss://');
        const tokens = config.dev_tokens ? await devTokenSource(userInput.value.trim()) : pastedTokenSource(tokenInput.value.trim());
        resolve({ tokens, gateways: [gateway, ...config.gateways.filter((g) => g !== gateway)] });
      })().catch((err: Error) => {
        error.textContent = err.message;
        button.disabled = false;
      });
    });
  });
}
