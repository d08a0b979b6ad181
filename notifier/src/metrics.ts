import { counter, createMetricsRegistry, gauge } from '@chat/server/metrics';

export type SuppressReason = 'online' | 'read' | 'muted' | 'no_device';

export function createNotifierMetrics() {
  const registry = createMetricsRegistry('notifier');
  return {
    registry,
    sent: counter(registry, 'notifier_pushes_sent_total', 'Pushes FCM accepted (one per device).'),
    collapsed: counter(registry, 'notifier_messages_collapsed_total', 'Messages folded into another message\'s push (a push for n messages counts n - 1).'),
    suppressed: counter(registry, 'notifier_suppressed_total', 'Collapse windows that sent no push, by reason.', ['reason']),
    failed: counter(registry, 'notifier_push_failures_total', 'Push attempts FCM refused or that did not reach it, by outcome.', ['outcome']),
    pruned: counter(registry, 'notifier_tokens_pruned_total', 'Device tokens deleted because FCM called them unregistered or invalid.'),
    deadLettered: counter(registry, 'notifier_dead_lettered_total', 'Pushes given up after FCM_MAX_ATTEMPTS and written to the dead-letter topic.'),
    skippedRecords: counter(registry, 'notifier_skipped_records_total', 'Records of the sequenced stream that were not a valid sequenced message.'),
    retryQueueDepth: gauge(registry, 'notifier_retry_queue_depth', 'Pushes waiting for a retry.'),
    consumerLag: gauge(registry, 'notifier_consumer_lag', 'Records of the sequenced stream not yet consumed, per partition (at the end of the last batch).', ['partition']),
  };
}

export type NotifierMetrics = ReturnType<typeof createNotifierMetrics>;
