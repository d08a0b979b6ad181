/** What the page reads from GET /config.json before it signs in. */
export interface ClientConfig {
  /** Gateway WebSocket URLs; the first is preselected. */
  gateways: string[];
  /** chat-service's public REST base URL. */
  api_url: string;
  /** Whether POST /dev/token mints development tokens (else the user pastes a token). */
  dev_tokens: boolean;
}
