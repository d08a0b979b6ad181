import { counter, createMetricsRegistry, latency } from '@chat/server/metrics';
import type { Registry } from 'prom-client';
import type { DeliveryMetrics } from './delivery/deliverer.js';
import type { InboxMetrics } from './inbox/inbox-writer.js';
import type { SendMetrics } from './send/send-service.js';
import type { ConsumerMetrics } from './sequencer/message-consumer.js';

/** What chat-service counts, as domain verbs. */
export interface ChatMetrics extends ConsumerMetrics, DeliveryMetrics, InboxMetrics, SendMetrics {
  readonly registry: Registry;
  markDelivered(gatewayEvents: number): void;
}

export function createChatMetrics(): ChatMetrics {
  const registry = createMetricsRegistry('chat-service');
  const sequenced = counter(registry, 'chat_messages_sequenced_total', 'Messages given a seq and persisted');
  const deadLettered = counter(registry, 'chat_records_dead_lettered_total', 'Kafka records sent to the DLQ', ['reason']);
  const retries = counter(registry, 'chat_sequencer_retries_total', 'Batches retried after a retriable failure');
  const duplicates = counter(registry, 'chat_sequencer_duplicates_total', 'Records recognised as copies or resends of a stored message and not stored again');
  const delivered = counter(registry, 'chat_gateway_events_published_total', 'Delivery events published to gateways');
  const publishErrors = counter(
    registry,
    'chat_delivery_publish_errors_total',
    'Delivery events Redis refused (real-time delivery lost; clients recover by sync/digest)',
  );
  const inboxRows = counter(registry, 'chat_inbox_rows_written_total', 'Inbox rows written by fanout on write (one per member and message)');
  const listRows = counter(registry, 'chat_conversation_list_rows_written_total', 'Conversation list rows updated by fanout on write');
  const sendStages = latency(
    registry,
    'chat_send_stage_seconds',
    "Time a send spends in chat-service, by stage: checks (membership, attachments, idempotency record), produce (until Kafka acked), total (from the batch's arrival to this send's answer).",
    ['stage'],
  );
  return {
    registry,
    observeSendStage: (stage, seconds) => sendStages.observe({ stage }, seconds),
    markInboxRows: (n) => inboxRows.inc(n),
    markListRows: (n) => listRows.inc(n),
    markSequenced: (n) => sequenced.inc(n),
    markDeadLettered: (reason) => deadLettered.inc({ reason }),
    markRetry: () => retries.inc(),
    markDuplicates: (n) => duplicates.inc(n),
    markDelivered: (n) => delivered.inc(n),
    markPublishErrors: (n) => publishErrors.inc(n),
  };
}
