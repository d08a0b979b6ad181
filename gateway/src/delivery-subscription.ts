import { type GatewayEvent, type Logger, type Redis } from '@chat/shared';
import { parseGatewayEvent } from './gateway-event.js';

export interface DeliverySubscription {
  readonly channel: string;
  close(): Promise<void>;
}

/**
 * Subscribes the (dedicated) subscriber connection to this gateway's delivery channel and hands
 * each valid GatewayEvent to `onEvent`. Invalid events are logged (never their content) and dropped.
 */
export async function subscribeDelivery(
  subscriber: Redis,
  channel: string,
  onEvent: (event: GatewayEvent) => void,
  log: Logger,
): Promise<DeliverySubscription> {
  const listener = (ch: string, message: string): void => {
    if (ch !== channel) return;
    let event: GatewayEvent;
    try {
      event = parseGatewayEvent(message);
    } catch (err) {
      log.warn({ err: (err as Error).message, bytes: message.length }, 'dropped an invalid gateway event');
      return;
    }
    try {
      onEvent(event);
    } catch (err) {
      log.error({ err: (err as Error).message, type: event.type }, 'gateway event handling failed');
    }
  };
  subscriber.on('message', listener);
  await subscriber.subscribe(channel);
  return {
    channel,
    async close() {
      subscriber.off('message', listener);
      await subscriber.unsubscribe(channel).catch(() => undefined);
    },
  };
}
