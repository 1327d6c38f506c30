/** Prometheus metrics for the one HTTP port. A registry per server keeps tests independent. */
import { Counter, collectDefaultMetrics, Histogram, Registry } from 'prom-client';

export function createMetrics() {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'deckhand_' });
  return {
    registry,
    requests: new Counter({
      name: 'deckhand_ingress_requests_total',
      help: 'Platform requests by route and HTTP status',
      labelNames: ['route', 'status'] as const,
      registers: [registry],
    }),
    duplicates: new Counter({
      name: 'deckhand_ingress_duplicates_total',
      help: 'Redelivered events recognised by their delivery key',
      labelNames: ['platform'] as const,
      registers: [registry],
    }),
    ackSeconds: new Histogram({
      name: 'deckhand_ingress_ack_seconds',
      help: 'Time from request to ack, verification and durable task included',
      labelNames: ['route'] as const,
      buckets: [0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1],
      registers: [registry],
    }),
  };
}
export type Metrics = ReturnType<typeof createMetrics>;
