// Two users, one direct conversation, one message: the smallest complete use of @chat/sdk.
//
// With the system running (`npm start`):
//   ALICE_TOKEN=$(npm run -s token -- alice) BOB_TOKEN=$(npm run -s token -- bob) node shared/sdk/examples/hello.mjs
// Optional: CHAT_WS_URL (default ws://127.0.0.1:8081/ws), CHAT_API_URL (default http://127.0.0.1:8080).
import { ChatClient } from '@chat/sdk';

const wsUrl = process.env.CHAT_WS_URL ?? 'ws://127.0.0.1:8081/ws';
const apiUrl = process.env.CHAT_API_URL ?? 'http://127.0.0.1:8080';
const aliceToken = process.env.ALICE_TOKEN;
const bobToken = process.env.BOB_TOKEN;
if (!aliceToken || !bobToken) {
  console.error('usage: ALICE_TOKEN=… BOB_TOKEN=… node shared/sdk/examples/hello.mjs (tokens from `npm run -s token -- <user>`)');
  process.exit(64);
}

// Browsers (and Node >= 22) have a global WebSocket; on Node 20 the `ws` package stands in.
const WebSocketImpl = globalThis.WebSocket ?? (await import('ws')).default;

/** The user id a token names (its `sub`); a real app knows its own user ids. */
const userIdOf = (token) => JSON.parse(Buffer.from(token.split('.')[1], 'base64url').toString('utf8')).sub;

// Conversations are created over REST; messages travel over the WebSocket.
const created = await fetch(`${apiUrl}/v1/conversations`, {
  method: 'POST',
  headers: { authorization: `Bearer ${aliceToken}`, 'content-type': 'application/json' },
  body: JSON.stringify({ kind: 'direct', user_id: userIdOf(bobToken) }),
});
if (!created.ok) throw new Error(`creating the conversation failed: ${created.status} ${await created.text()}`);
const conversationId = (await created.json()).conversation.conversation_id;

const alice = new ChatClient({ url: wsUrl, getToken: () => aliceToken, WebSocketImpl });
const bob = new ChatClient({ url: wsUrl, getToken: () => bobToken, WebSocketImpl });
const received = new Promise((resolve) => bob.on('message', resolve));
bob.track(conversationId, 0); // resume from seq 0: every message of the conversation, in order
await Promise.all([alice.connect(), bob.connect()]);

const ack = await alice.send(conversationId, 'hello, bob'); // resolves once the message is durable
const message = await received;
console.log(`sent ${ack.message_id}; bob received seq ${message.seq} from ${message.sender_id}: ${message.body}`);
alice.close();
bob.close();
