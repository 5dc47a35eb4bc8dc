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
 * Powertools Metrics (EMF) behind core's MetricsSink. Each call is flushed as
 * its own EMF document so dimensions never mix.
 */
export function createMetrics(serviceName: string, env: Record<string, string | undefined>): MetricsSink {
  const namespace = env.POWERTOOLS_METRICS_NAMESPACE ?? 'Chaperone';
  return {
    count(name, value, dimensions = {}, unit = 'Count') {
      const m = new Metrics({ namespace, serviceName });
      for (const [k, v] of Object.entries(dimensions)) m.addDimension(k, v);
      m.addMetric(name, unit === 'Count' ? MetricUnit.Count : MetricUnit.NoUnit, value);
      m.publishStoredMetrics();
    },
  };
}
