/**
 * TypeScript client SDK (browser and Node). It depends only on the wire contract (@chat/protocol), never on
 * Node built-ins: its build is type-checked against the DOM library without Node types.
 */
export { ChatClient } from './chat-client.js';
export type { ChatClientEvents, ChatClientOptions, SendOptions } from './chat-client.js';
export type { CloseInfo, ConnectionState } from './connection.js';
export type { EverythingNewOptions, HistoryQuery, RequestInput, RequestOptions } from './requests.js';
export type { ResyncInfo } from './resume.js';
export { AttachmentsClient } from './attachments-client.js';
export { InboxClient } from './inbox-client.js';
export type { InboxClientOptions } from './inbox-client.js';
export type { AttachmentData, AttachmentsClientOptions, UploadOptions } from './attachments-client.js';
export { AttachmentTransferError, ChatClosedError, ChatConnectionError, ChatGapError, ChatRequestError, ChatTimeoutError } from './errors.js';
export { Backoff, backoffCeiling, fullJitterDelay, DEFAULT_BACKOFF_BASE_MS, DEFAULT_BACKOFF_CAP_MS } from './backoff.js';
export type { BackoffOptions } from './backoff.js';
export { TypedEmitter } from './emitter.js';
export type { EventMap } from './emitter.js';
export { OrderedInbox } from './ordered-inbox.js';
export { ReadState } from './read-state.js';
export type { ConversationReadState, ListedConversation } from './read-state.js';
export type { EpochChange, Gap, InboxResult, OrderedInboxOptions } from './ordered-inbox.js';
export { Outbox } from './outbox.js';
export type { OutboxItem } from './outbox.js';
export { RequestTracker } from './request-tracker.js';
export type { RequestFrame, TrackOptions } from './request-tracker.js';
export { generateClientMsgId, isValidClientMsgId } from './ids.js';
export { defaultTimers } from './timers.js';
export type { Timers } from './timers.js';
export { globalWebSocket, WS_OPEN } from './transport.js';
export type { WebSocketConstructor, WebSocketLike } from './transport.js';
