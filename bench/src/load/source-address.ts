/** Sockets per source address: well under the ~28k ephemeral ports Linux gives each address. */
export const SOCKETS_PER_ADDRESS = 4000;

/**
 * The loopback source address of one client socket: worker w owns 127.(10+w).*.*; each reconnect
 * generation moves to fresh addresses so TIME_WAIT from the previous generation never collides.
 */
export function sourceAddress(workerIndex: number, generation: number, clientIndex: number): string {
  const block = Math.floor(clientIndex / SOCKETS_PER_ADDRESS);
  const third = (generation % 40) * 6 + (block % 6);
  const fourth = 1 + Math.floor(block / 6);
  return `127.${10 + workerIndex}.${third}.${fourth}`;
}
