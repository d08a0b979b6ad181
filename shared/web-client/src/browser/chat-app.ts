import type { ChatMessage, PresenceEventFrame, TypingEventFrame } from '@chat/protocol';
import { AttachmentsClient, ChatClient, InboxClient } from '@chat/sdk';
import { connectionBadge } from './connection-badge.js';
import { conversationList } from './conversation-list.js';
import { ConversationStore, type ConversationEntry } from './conversation-store.js';
import { ConversationView } from './conversation-view.js';
import { ConversationsApi, type ConversationInfo } from './conversations-api.js';
import { el, replaceChildren } from './dom.js';
import { PresenceAndTyping } from './presence-typing.js';
import { withRetry } from './retry.js';
import type { TokenSource } from './token-source.js';

/** Reads marked within this window go out as one `read` with the highest seq. */
const READ_COALESCE_MS = 200;

export interface ChatAppOptions {
  /** Gateway URLs, the chosen one first: each reconnect moves on to the next. */
  gateways: string[];
  apiUrl: string;
  tokens: TokenSource;
}

/**
 * The signed-in app: one ChatClient (real time, history, typing, presence, receipts), the inbox
 * over REST (the conversation list with unread counts), attachments, and the views.
 */
export class ChatApp {
  private readonly client: ChatClient;
  private readonly inbox: InboxClient;
  private readonly files: AttachmentsClient;
  private readonly api: ConversationsApi;
  private readonly store = new ConversationStore();
  private readonly live = new PresenceAndTyping();
  /** Highest seq already marked read per conversation (no request for what is already read). */
  private readonly marked = new Map<string, number>();
  private readonly readTimers = new Map<string, ReturnType<typeof setTimeout>>();
  private readonly main = el('main', { class: 'pane' }, el('p', { class: 'hint' }, 'Pick a conversation, or start one.'));
  private readonly errorLine = el('p', { class: 'error', role: 'alert', 'data-testid': 'error' });
  private view: ConversationView | undefined;
  private readonly renderList: () => void;

  constructor(
    root: HTMLElement,
    private readonly options: ChatAppOptions,
  ) {
    const getToken = () => options.tokens.getToken();
    this.client = new ChatClient({ url: options.gateways, getToken });
    this.inbox = new InboxClient({ baseUrl: options.apiUrl, getToken });
    this.files = new AttachmentsClient({ baseUrl: options.apiUrl, getToken });
    this.api = new ConversationsApi(options.apiUrl, getToken);

    const badge = el('span', { class: 'connection', 'data-testid': 'connection' });
    const signOut = el('button', { type: 'button', class: 'sign-out' }, 'Sign out');
    signOut.addEventListener('click', () => {
      this.client.close();
      location.reload();
    });
    const sidebar = el('aside', { class: 'sidebar' });
    replaceChildren(
      root,
      el('header', { class: 'top' }, el('strong', { 'data-testid': 'me' }, options.tokens.userId), badge, signOut),
      this.errorLine,
      el('div', { class: 'layout' }, sidebar, this.main),
    );
    connectionBadge(this.client, badge);
    this.renderList = conversationList(sidebar, {
      store: this.store,
      presence: this.live,
      unread: (id) => this.client.unreadCount(id),
      selected: () => this.view?.id,
      open: (id) => void this.open(id).catch((err: Error) => this.error(err)),
      startDirect: async (userId) => this.started(await this.api.direct(userId)),
      startGroup: async (title, members) => this.started(await this.api.group(title, members)),
    });
    this.store.onChange(() => this.renderList());
    this.live.onChange(() => {
      this.renderList();
      this.view?.refreshHeader();
    });
    this.wire();
  }

  /** Connects and loads the conversation list. */
  async start(): Promise<void> {
    await this.client.connect();
    const page = await withRetry(() => this.inbox.conversationList({ limit: 100 }));
    this.client.seedReadState(page.conversations);
    for (const row of page.conversations) {
      this.store.fromListRow(row);
      // Real time from where the list is; after a reconnect the SDK resumes from there (sync).
      this.client.track(row.conversation_id, row.last_seq, row.epoch);
      if (row.kind === 'direct') void this.describe(row.conversation_id);
    }
  }

  private wire(): void {
    this.client.on('open', () => void this.subscribePresence()); // subscriptions belong to the connection
    this.client.on('message', (m) => this.onMessage(m));
    this.client.on('unread', () => this.renderList());
    this.client.on('receipt', (r) => {
      if (r.user_id !== this.options.tokens.userId && this.view?.id === r.conversation_id) this.view.otherRead(r.seq);
    });
    this.client.on('frame', (f) => {
      if (f.type === 'typing') this.live.onTyping(f as TypingEventFrame);
      else if (f.type === 'presence') this.live.onPresence(f as PresenceEventFrame);
    });
    this.client.on('resync', (r) => {
      if (this.view?.id === r.conversationId) void this.open(r.conversationId, true);
    });
    this.client.on('error', (err) => this.error(err));
  }

  private onMessage(m: ChatMessage): void {
    if (!this.store.has(m.conversation_id)) {
      // A conversation someone else started: list it, then learn who is in it.
      this.store.put({ id: m.conversation_id, kind: 'group', title: '…', epoch: m.epoch, lastActivity: m.created_at, lastSeq: m.seq - 1, preview: '' });
      void this.describe(m.conversation_id);
    }
    this.store.onMessage(m);
    if (this.view?.id === m.conversation_id) this.view.add(m);
  }

  private async open(conversationId: string, reload = false): Promise<void> {
    const entry = this.store.get(conversationId);
    if (!entry || (!reload && this.view?.id === conversationId)) return;
    this.view?.close();
    const view = new ConversationView(entry, {
      me: this.options.tokens.userId,
      client: this.client,
      files: this.files,
      presence: this.live,
      markRead: (id, seq) => this.markRead(id, seq),
      error: (err) => this.error(err),
    });
    this.view = view;
    replaceChildren(this.main, view.root);
    this.renderList();
    await view.load();
    await this.showOthersRead(entry, view);
  }

  /** Receipts only arrive while connected: ask once how far the others read the user's last message. */
  private async showOthersRead(entry: ConversationEntry, view: ConversationView): Promise<void> {
    const mine = [...view.root.querySelectorAll<HTMLElement>('[data-testid="message"].mine')].map((n) => Number(n.dataset.seq));
    const last = Math.max(0, ...mine);
    if (last === 0) return;
    const count = await withRetry(() => this.inbox.readCount(entry.id, last));
    if (count.read_count >= count.members && count.members > 1) view.otherRead(last);
  }

  /** Marks read at most every READ_COALESCE_MS per conversation: a burst of messages costs one `read`. */
  private markRead(conversationId: string, seq: number): void {
    if (seq <= (this.marked.get(conversationId) ?? 0)) return;
    this.marked.set(conversationId, seq);
    if (this.readTimers.has(conversationId)) return;
    this.readTimers.set(
      conversationId,
      setTimeout(() => {
        this.readTimers.delete(conversationId);
        const upTo = this.marked.get(conversationId) ?? seq;
        this.client.markRead(conversationId, upTo).catch((err: Error) => this.error(err));
      }, READ_COALESCE_MS),
    );
  }

  private async started(c: ConversationInfo): Promise<void> {
    if (!this.store.has(c.conversation_id)) {
      this.store.put({ id: c.conversation_id, kind: c.kind, title: c.title ?? '…', epoch: c.epoch, lastActivity: c.created_at, lastSeq: 0, preview: '' });
      this.client.track(c.conversation_id, 0, c.epoch);
      await this.describe(c.conversation_id);
    }
    await this.open(c.conversation_id);
  }

  /** Kind, title and, for a direct conversation, the other member (its title and presence dot). */
  private async describe(conversationId: string): Promise<void> {
    const d = await this.api.details(conversationId).catch((err: Error) => {
      this.error(err);
      return undefined;
    });
    const entry = this.store.get(conversationId);
    if (!d || !entry) return;
    entry.kind = d.conversation.kind;
    entry.title = d.conversation.title ?? entry.title;
    const peer = d.conversation.kind === 'direct' ? d.members.find((m) => m.user_id !== this.options.tokens.userId)?.user_id : undefined;
    if (peer !== undefined) {
      this.store.setPeer(conversationId, peer);
      await this.subscribePresence([peer]);
    } else this.store.changed();
    if (this.view?.id === conversationId) this.view.refreshHeader();
  }

  private async subscribePresence(userIds = this.store.peers()): Promise<void> {
    if (userIds.length === 0) return;
    await this.client.request({ type: 'presence.sub', user_ids: userIds }).catch((err: Error) => this.error(err));
  }

  private error(err: Error): void {
    this.errorLine.textContent = err.message;
    setTimeout(() => {
      if (this.errorLine.textContent === err.message) this.errorLine.textContent = '';
    }, 8000);
  }
}
