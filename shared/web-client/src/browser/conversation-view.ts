import type { ChatMessage, MessageAttachment } from '@chat/protocol';
import type { AttachmentsClient, ChatClient } from '@chat/sdk';
import type { ConversationEntry } from './conversation-store.js';
import { el, formatBytes, formatTime, replaceChildren } from './dom.js';
import type { PresenceAndTyping } from './presence-typing.js';

/** Messages per history page. */
const PAGE_SIZE = 30;
/** A typing `start` is refreshed this often while the user types (the server expires it after 3 s). */
const TYPING_REFRESH_MS = 2000;

export interface ConversationViewDeps {
  me: string;
  client: ChatClient;
  files: AttachmentsClient;
  presence: PresenceAndTyping;
  /** The user has seen the conversation up to `seq`. */
  markRead(conversationId: string, seq: number): void;
  error(err: Error): void;
}

/**
 * One open conversation: its messages (the newest page of history first, older pages when the
 * user scrolls to the top, new ones in real time), who is typing, read receipts on the user's own
 * messages, and the composer (text, one attachment, typing indicator).
 */
export class ConversationView {
  readonly root: HTMLElement;
  private readonly messages = new Map<number, ChatMessage>();
  private readonly list = el('ol', { class: 'messages', 'data-testid': 'messages' });
  private readonly header = el('header', { class: 'conversation-header' });
  private readonly typingLine = el('p', { class: 'typing', 'data-testid': 'typing', 'aria-live': 'polite' });
  private readonly olderButton = el('button', { class: 'older', type: 'button', 'data-testid': 'load-older', hidden: true }, 'Load earlier messages');
  private readonly input = el('input', { name: 'body', placeholder: 'Message', autocomplete: 'off', 'data-testid': 'composer' });
  private readonly fileInput = el('input', { type: 'file', name: 'file', 'data-testid': 'attach' });
  private readonly sendButton = el('button', { type: 'submit', 'data-testid': 'send' }, 'Send');
  private readonly status = el('span', { class: 'status' });
  private hasOlder = false;
  private loadingOlder = false;
  /** Highest seq another member has read (receipts). */
  private othersRead = 0;
  private lastTypingStart = 0;

  constructor(
    readonly entry: ConversationEntry,
    private readonly deps: ConversationViewDeps,
  ) {
    const form = el('form', { class: 'composer' }, this.input, this.fileInput, this.sendButton, this.status);
    form.addEventListener('submit', (e) => {
      e.preventDefault();
      void this.send();
    });
    this.input.addEventListener('input', () => this.typed());
    this.olderButton.addEventListener('click', () => void this.loadOlder());
    this.list.addEventListener('scroll', () => {
      if (this.list.scrollTop < 40) void this.loadOlder();
    });
    this.root = el(
      'section',
      { class: 'conversation', 'data-testid': 'conversation-view', 'data-conversation-id': entry.id },
      this.header,
      this.olderButton,
      this.list,
      this.typingLine,
      form,
    );
    this.refreshHeader();
  }

  get id(): string {
    return this.entry.id;
  }

  /** The newest page of history. */
  async load(): Promise<void> {
    const page = await this.deps.client.history(this.id, { limit: PAGE_SIZE });
    this.hasOlder = page.has_more;
    this.addAll(page.messages as ChatMessage[]);
  }

  /** The page before the oldest shown message; keeps what the user looks at in place. */
  async loadOlder(): Promise<void> {
    if (!this.hasOlder || this.loadingOlder) return;
    const first = Math.min(...this.messages.keys());
    this.loadingOlder = true;
    try {
      const page = await this.deps.client.history(this.id, { before: first, limit: PAGE_SIZE });
      this.hasOlder = page.has_more;
      const fromBottom = this.list.scrollHeight - this.list.scrollTop;
      this.addAll(page.messages as ChatMessage[], false);
      this.list.scrollTop = this.list.scrollHeight - fromBottom;
    } catch (err) {
      this.deps.error(err as Error);
    } finally {
      this.loadingOlder = false;
    }
  }

  /** A message of this conversation arrived in real time. */
  add(m: ChatMessage): void {
    this.deps.presence.stopTyping(this.id, m.sender_id);
    this.addAll([m]);
  }

  /** Another member read up to `seq`. */
  otherRead(seq: number): void {
    if (seq <= this.othersRead) return;
    this.othersRead = seq;
    this.render(false);
  }

  /** Presence or typing changed. */
  refreshHeader(): void {
    const peer = this.entry.peer;
    const p = peer !== undefined ? this.deps.presence.presenceOf(peer) : undefined;
    replaceChildren(
      this.header,
      el('h2', {}, this.entry.title),
      peer !== undefined
        ? el(
            'span',
            { class: `presence ${p?.online ? 'online' : 'offline'}`, 'data-testid': 'peer-presence', 'data-online': String(p?.online ?? false) },
            p?.online ? 'online' : 'offline',
          )
        : null,
    );
    const typists = this.deps.presence.typing(this.id);
    this.typingLine.textContent = typists.length === 0 ? '' : `${typists.join(', ')} ${typists.length === 1 ? 'is' : 'are'} typing…`;
  }

  /** Sends the stop of a typing indicator still running (the conversation is being left). */
  close(): void {
    if (this.lastTypingStart > 0) this.deps.client.sendFrame({ type: 'typing', conversation_id: this.id, state: 'stop' });
  }

  private addAll(messages: readonly ChatMessage[], scrollToEnd = true): void {
    let newest = 0;
    for (const m of messages) {
      this.messages.set(m.seq, m);
      newest = Math.max(newest, m.seq);
    }
    this.render(scrollToEnd);
    if (newest > 0 && document.visibilityState === 'visible') this.deps.markRead(this.id, Math.max(...this.messages.keys()));
  }

  private render(scrollToEnd: boolean): void {
    const atEnd = this.list.scrollHeight - this.list.scrollTop - this.list.clientHeight < 40;
    this.olderButton.hidden = !this.hasOlder;
    replaceChildren(this.list, ...[...this.messages.values()].sort((a, b) => a.seq - b.seq).map((m) => this.messageItem(m)));
    if (scrollToEnd && (atEnd || this.messages.size <= PAGE_SIZE)) this.list.scrollTop = this.list.scrollHeight;
  }

  private messageItem(m: ChatMessage): HTMLElement {
    const mine = m.sender_id === this.deps.me;
    const read = mine && this.othersRead >= m.seq;
    return el(
      'li',
      { class: mine ? 'message mine' : 'message', 'data-testid': 'message', 'data-seq': String(m.seq), 'data-sender': m.sender_id },
      el('span', { class: 'meta' }, `${m.sender_id} · ${formatTime(m.created_at)}`),
      m.body ? el('span', { class: 'body', 'data-testid': 'message-body' }, m.body) : null,
      ...(m.attachments ?? []).map((a) => this.attachmentButton(a)),
      mine ? el('span', { class: read ? 'receipt read' : 'receipt', 'data-testid': 'receipt', 'data-read': String(read) }, read ? '✓✓ read' : '✓ sent') : null,
    );
  }

  private attachmentButton(a: MessageAttachment): HTMLElement {
    const name = a.filename ?? `attachment-${a.attachment_id}`;
    const button = el(
      'button',
      { type: 'button', class: 'attachment', 'data-testid': 'attachment', 'data-attachment-id': a.attachment_id },
      `Download ${name} (${formatBytes(a.size)})`,
    );
    button.addEventListener('click', () => {
      this.deps.files.download(a.attachment_id).then(
        (bytes) => saveFile(new Blob([bytes as Uint8Array<ArrayBuffer>], { type: a.content_type }), name),
        (err: Error) => this.deps.error(err),
      );
    });
    return button;
  }

  private typed(): void {
    const now = Date.now();
    if (this.input.value === '' || now - this.lastTypingStart < TYPING_REFRESH_MS) return;
    if (this.deps.client.sendFrame({ type: 'typing', conversation_id: this.id, state: 'start' })) this.lastTypingStart = now;
  }

  private async send(): Promise<void> {
    const body = this.input.value;
    const file = this.fileInput.files?.[0];
    if (body.trim() === '' && !file) return;
    this.sendButton.disabled = true;
    try {
      let attachmentIds: string[] = [];
      if (file) {
        this.status.textContent = `uploading ${file.name}…`;
        const uploaded = await this.deps.files.upload(this.id, file, { contentType: file.type || 'application/octet-stream', filename: file.name });
        attachmentIds = [uploaded.attachment_id];
      }
      this.status.textContent = 'sending…';
      this.input.value = '';
      this.fileInput.value = '';
      this.close();
      this.lastTypingStart = 0;
      await this.deps.client.send(this.id, body, { attachmentIds }); // the message itself arrives like everyone's
      this.status.textContent = '';
    } catch (err) {
      this.status.textContent = '';
      this.deps.error(err as Error);
    } finally {
      this.sendButton.disabled = false;
      this.input.focus();
    }
  }
}

/** Hands a downloaded file to the browser as a download. */
function saveFile(blob: Blob, filename: string): void {
  const url = URL.createObjectURL(blob);
  const a = el('a', { href: url, download: filename, hidden: true });
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 60_000);
}
