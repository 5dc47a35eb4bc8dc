import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import type { Log, MetricsSink } from '../core/deps.js';

/** Powertools Logger behind core's Log interface. Keys named like secrets are never logged. */
export function createLog(serviceName: string, env: Record<string, string | undefined>): Log {
  const logger = new Logger({
    serviceName,
    logLevel: (env.POWERTOOLS_LOG_LEVEL as 'INFO' | undefined) ?? 'INFO',
  });
  const scrub = (extra?: Record<string, unknown>) =>
    extra
      ? Object.fromEntries(Object.entries(extra).filter(([k]) => !/token|secret|key|password/i.test(k)))
      : {};
  return {
    info: (m, e) => logger.info(m, scrub(e)),
    warn: (m, e) => logger.warn(m, scrub(e)),
    error: (m, e) => logger.error(m, scrub(e)),
  };
}

/**
 * The `service` dimension of every metric: one value for every handler, so
 * each metric's dimensions are exactly the ones the core names and the
 * stack's alarms can address them (`infra/constructs/monitoring.ts` says the
 * same). The handler that emitted a document is in its `handler` property.
 */
export const METRICS_SERVICE = 'chaperone';

/**
 * Powertools Metrics (EMF) behind core's MetricsSink. Each call is flushed as
 * its own EMF document so dimensions never mix; a metric with dimensions is
 * emitted once more with `service` alone, the total over them that alarms
 * and rates read (CloudWatch does not sum across dimensions by itself).
 */
export function createMetrics(serviceName: string, env: Record<string, string | undefined>): MetricsSink {
  const namespace = env.POWERTOOLS_METRICS_NAMESPACE ?? 'Chaperone';
  const emit = (
    name: string,
    value: number,
    dimensions: Record<string, string>,
    unit: (typeof MetricUnit)[keyof typeof MetricUnit],
  ) => {
    const m = new Metrics({ namespace, serviceName: METRICS_SERVICE });
    for (const [k, v] of Object.entries(dimensions)) m.addDimension(k, v);
    m.addMetadata('handler', serviceName);
    m.addMetric(name, unit, value);
    m.publishStoredMetrics();
  };
  return {
    count(name, value, dimensions = {}, unit = 'Count') {
      const u = unit === 'Count' ? MetricUnit.Count : MetricUnit.NoUnit;
      emit(name, value, dimensions, u);
      if (Object.keys(dimensions).length > 0) emit(name, value, {}, u);
    },
  };
}
