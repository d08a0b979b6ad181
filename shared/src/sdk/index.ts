/**
 * TypeScript client SDK (browser and Node). Import it from '@chat/shared/sdk/index' in browser bundles:
 * it depends only on the protocol types and the error registry, never on Node built-ins.
 */
export { ChatClient } from './chat-client.js';
export type {
  ChatClientEvents,
  ChatClientOptions,
  CloseInfo,
  ConnectionState,
  HistoryQuery,
  RequestInput,
  RequestOptions,
  ResyncInfo,
  SendOptions,
} from './chat-client.js';
export { ChatClosedError, ChatConnectionError, ChatGapError, ChatRequestError, ChatTimeoutError } from './errors.js';
export { Backoff, backoffCeiling, fullJitterDelay, DEFAULT_BACKOFF_BASE_MS, DEFAULT_BACKOFF_CAP_MS } from './backoff.js';
export type { BackoffOptions } from './backoff.js';
export { TypedEmitter } from './emitter.js';
export type { EventMap } from './emitter.js';
export { OrderedInbox } from './ordered-inbox.js';
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
