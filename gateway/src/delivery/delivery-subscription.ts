import type { Redis } from '@chat/server/clients';
import type { Logger } from '@chat/server/logger';
import { type Delivery, parseGatewayEvent } from './gateway-event.js';

export interface DeliverySubscription {
  readonly channel: string;
  close(): Promise<void>;
}

/**
 * Subscribes the (dedicated) subscriber connection to this gateway's delivery channel and hands
 * each valid GatewayEvent's deliveries to `onEvent`. Invalid events are logged (never their content) and dropped.
 * Events published while the connection was down are lost (pub/sub): after every reconnect, once
 * the channel is subscribed again, `onResubscribed` runs so clients can be told to resume.
 */
export async function subscribeDelivery(
  subscriber: Redis,
  channel: string,
  onEvent: (deliveries: Delivery[]) => void,
  log: Logger,
  onResubscribed: () => void = () => undefined,
): Promise<DeliverySubscription> {
  const listener = (ch: string, message: string): void => {
    if (ch !== channel) return;
    let deliveries: Delivery[];
    try {
      deliveries = parseGatewayEvent(message);
    } catch (err) {
      log.warn({ err, bytes: message.length }, 'dropped an invalid gateway event');
      return;
    }
    try {
      onEvent(deliveries);
    } catch (err) {
      log.error({ err }, 'gateway event handling failed');
    }
  };
  let closed = false;
  // ioredis re-subscribes by itself on reconnect; subscribing again and awaiting the reply makes
  // sure the channel is live before clients are told to sync.
  const onReady = (): void => {
    log.warn({ channel }, 'delivery subscription reconnected; events published meanwhile are lost, clients are told to sync');
    subscriber.subscribe(channel).then(
      () => {
        if (!closed) onResubscribed();
      },
      (err: Error) => log.warn({ err }, 'resubscribing the delivery channel failed'),
    );
  };
  subscriber.on('message', listener);
  await subscriber.subscribe(channel);
  subscriber.on('ready', onReady);
  return {
    channel,
    async close() {
      closed = true;
      subscriber.off('ready', onReady);
      subscriber.off('message', listener);
      await subscriber.unsubscribe(channel).catch(() => undefined);
    },
  };
}
