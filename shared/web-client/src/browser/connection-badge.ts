import type { ChatClient } from '@chat/sdk';

/** What the user is shown about the connection. */
export type ConnectionView = 'connecting' | 'online' | 'reconnecting' | 'resumed' | 'offline';

const LABELS: Record<ConnectionView, string> = {
  connecting: 'connecting…',
  online: 'online',
  reconnecting: 'reconnecting…',
  resumed: 'resumed',
  offline: 'offline',
};

/**
 * The connection state in the header: `connecting` until the first hello, `online`, `reconnecting`
 * while the SDK retries, `resumed` after a reconnect (the SDK then syncs every conversation from
 * its last seq, so nothing is missed), `offline` once closed for good. The state is also the
 * element's `data-state`.
 */
export function connectionBadge(client: ChatClient, node: HTMLElement): void {
  let connectedBefore = false;
  const show = (state: ConnectionView, detail = ''): void => {
    node.dataset.state = state;
    node.textContent = `${LABELS[state]}${detail}`;
  };
  show('connecting');
  client.on('open', (hello) => {
    show(connectedBefore ? 'resumed' : 'online', ` · ${hello.gateway_id}`);
    connectedBefore = true;
  });
  client.on('close', (info) => show(info.willReconnect ? 'reconnecting' : 'offline', ` (${info.code}${info.reason ? ` ${info.reason}` : ''})`));
}
