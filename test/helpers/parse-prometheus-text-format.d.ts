/** Types of `parse-prometheus-text-format` 1.1 (it ships none): Prometheus text exposition → metric families. */
declare module 'parse-prometheus-text-format' {
  export interface PrometheusSample {
    labels?: Record<string, string>;
    /** Counters, gauges, untyped. */
    value?: string;
    /** Histograms: cumulative count per upper bound (`le`), and the `_count` / `_sum` series. */
    buckets?: Record<string, string>;
    count?: string;
    sum?: string;
  }
  export interface PrometheusFamily {
    name: string;
    help: string;
    type: 'COUNTER' | 'GAUGE' | 'HISTOGRAM' | 'SUMMARY' | 'UNTYPED';
    metrics: PrometheusSample[];
  }
  /** @throws Error `Encountered invalid line: …` on a line that is not exposition format */
  export default function parsePrometheusTextFormat(text: string): PrometheusFamily[];
}
