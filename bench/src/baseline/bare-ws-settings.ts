import uWS from 'uWebSockets.js';

/** The socket settings both bare uWS servers use, so the two floors accept and keep sockets alike. */
export const BARE_WS_SETTINGS = {
  compression: uWS.DISABLED,
  maxPayloadLength: 64 * 1024,
  maxBackpressure: 1024 * 1024,
  closeOnBackpressureLimit: 1,
  idleTimeout: 60,
  sendPingsAutomatically: true,
} as const;
