// The allowlist is shared with chat-service's CORS; one implementation in the server kit.
export { isOriginAllowed } from '@chat/server/http';
