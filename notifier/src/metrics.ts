import { counter, createMetricsRegistry, gauge } from '@chat/server/metrics';

export type SuppressReason = 'read' | 'muted' | 'not_member' | 'no_device';

export function createNotifierMetrics() {
  const registry = createMetricsRegistry('notifier');
  return {
    registry,
    sent: counter(registry, 'chat_notifier_pushes_sent_total', 'Pushes FCM accepted (one per device).'),
    collapsed: counter(registry, 'chat_notifier_messages_collapsed_total', "Messages folded into another message's push (a push for n messages counts n - 1)."),
    suppressed: counter(registry, 'chat_notifier_suppressed_total', 'Collapse windows that sent no push, by reason.', ['reason']),
    deferred: counter(
      registry,
      'chat_notifier_windows_deferred_total',
      'Due windows put off because a device of the user is online and its grace period is not over (or their state could not be read).',
    ),
    failed: counter(registry, 'chat_notifier_push_failures_total', 'Push attempts FCM refused or that did not reach it, by outcome.', ['outcome']),
    pruned: counter(registry, 'chat_notifier_tokens_pruned_total', 'Device tokens deleted because FCM called them unregistered or invalid.'),
    deadLettered: counter(registry, 'chat_notifier_dead_lettered_total', 'Pushes given up after FCM_MAX_ATTEMPTS and written to the dead-letter topic.'),
    skippedRecords: counter(registry, 'chat_notifier_skipped_records_total', 'Records of the sequenced stream that were not a valid sequenced message.'),
    retryQueueDepth: gauge(registry, 'chat_notifier_retry_queue_depth', 'Pushes waiting for a retry.'),
  };
}

export type NotifierMetrics = ReturnType<typeof createNotifierMetrics>;
