import type { Server } from 'node:http';
import type { Socket } from 'node:net';
import { ChatError, Errors } from '@chat/protocol';

/**
 * Replaces Node's bare "400 Bad Request" for requests its parser refuses (bad header, oversized
 * headers, garbage) with the JSON error body every other reply uses, then closes the socket.
 * Headers-timeouts (408) keep Node's reply semantics. Never throws.
 */
export function replyJsonOnClientError(server: Server): void {
  server.on('clientError', (err: NodeJS.ErrnoException, socket: Socket) => {
    if (!socket.writable || err.code === 'ECONNRESET') {
      socket.destroy();
      return;
    }
    const status = err.code === 'HPE_HEADER_OVERFLOW' ? 431 : err.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? 408 : 400;
    const body = JSON.stringify({ error: new ChatError(Errors.INVALID_SHAPE, 'malformed HTTP request').toJSON() });
    socket.end(
      `HTTP/1.1 ${status} ${status === 431 ? 'Request Header Fields Too Large' : status === 408 ? 'Request Timeout' : 'Bad Request'}\r\n` +
        `content-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`,
    );
  });
}
