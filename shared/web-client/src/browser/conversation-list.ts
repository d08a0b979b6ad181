import type { ConversationStore } from './conversation-store.js';
import { el, formatTime, replaceChildren } from './dom.js';
import type { PresenceAndTyping } from './presence-typing.js';

export interface ConversationListDeps {
  store: ConversationStore;
  presence: PresenceAndTyping;
  unread(conversationId: string): number;
  selected(): string | undefined;
  open(conversationId: string): void;
  startDirect(userId: string): Promise<void>;
  startGroup(title: string, memberIds: string[]): Promise<void>;
}

/**
 * The sidebar: forms to start a direct chat or a group, and the conversations, newest activity
 * first, each with its unread count and, for direct ones, the other member's presence dot.
 * Returns the function that redraws the list.
 */
export function conversationList(root: HTMLElement, deps: ConversationListDeps): () => void {
  const list = el('ul', { class: 'conversations', 'data-testid': 'conversation-list' });
  const error = el('p', { class: 'error', role: 'alert' });
  const guard = (action: () => Promise<void>) => () => {
    error.textContent = '';
    action().catch((err: Error) => {
      error.textContent = err.message;
    });
  };

  const peerInput = el('input', { name: 'peer', placeholder: 'user id', required: true, autocomplete: 'off', 'data-testid': 'new-direct-user' });
  const directForm = el('form', { class: 'new-direct' }, peerInput, el('button', { type: 'submit' }, 'Chat'));
  directForm.addEventListener('submit', (e) => {
    e.preventDefault();
    const userId = peerInput.value.trim();
    guard(async () => {
      await deps.startDirect(userId);
      peerInput.value = '';
    })();
  });

  const titleInput = el('input', { name: 'title', placeholder: 'group title', required: true, autocomplete: 'off' });
  const membersInput = el('input', { name: 'members', placeholder: 'members: bob, carol', required: true, autocomplete: 'off' });
  const groupForm = el('form', { class: 'new-group' }, titleInput, membersInput, el('button', { type: 'submit' }, 'Create group'));
  groupForm.addEventListener('submit', (e) => {
    e.preventDefault();
    const members = membersInput.value
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean);
    guard(async () => {
      await deps.startGroup(titleInput.value.trim(), members);
      titleInput.value = '';
      membersInput.value = '';
    })();
  });

  replaceChildren(root, el('details', { class: 'new' }, el('summary', {}, 'New conversation'), directForm, groupForm), error, list);

  return () => {
    const selected = deps.selected();
    replaceChildren(
      list,
      ...deps.store.ordered().map((c) => {
        const unread = deps.unread(c.id);
        const p = c.peer !== undefined ? deps.presence.presenceOf(c.peer) : undefined;
        const dot =
          c.kind === 'direct'
            ? el('span', {
                class: `dot ${p === undefined ? 'unknown' : p.online ? 'online' : 'offline'}`,
                'data-testid': 'presence',
                'data-online': p === undefined ? 'unknown' : String(p.online),
                title: p === undefined ? 'presence unknown' : p.online ? 'online' : `offline${p.lastSeen ? `, last seen ${formatTime(p.lastSeen)}` : ''}`,
              })
            : el('span', { class: 'dot group', title: 'group' });
        const item = el(
          'li',
          {
            class: c.id === selected ? 'conversation selected' : 'conversation',
            'data-testid': 'conversation',
            'data-conversation-id': c.id,
            'data-title': c.title,
            'data-unread': String(unread),
            tabindex: '0',
          },
          dot,
          el('span', { class: 'title' }, c.title),
          unread > 0 ? el('span', { class: 'unread', 'data-testid': 'unread' }, String(unread)) : null,
          el('span', { class: 'preview' }, c.preview),
        );
        item.addEventListener('click', () => deps.open(c.id));
        item.addEventListener('keydown', (e) => {
          if (e.key === 'Enter') deps.open(c.id);
        });
        return item;
      }),
    );
  };
}
