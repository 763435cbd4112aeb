// Reading Prometheus' text exposition (GET /metrics) and estimating percentiles from histogram buckets.

export function parseMetrics(text) {
  const samples = [];
  for (const line of text.split("\n")) {
    if (!line || line.startsWith("#")) continue;
    const match = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})?\s+(\S+)/.exec(line);
    if (!match) continue;
    const labels = {};
    for (const pair of (match[2] || "").matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) labels[pair[1]] = pair[2];
    samples.push({ name: match[1], labels, value: Number(match[3]) });
  }
  return samples;
}

export function value(samples, name, labels = {}) {
  const found = samples.find((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v));
  return found ? found.value : null;
}

// Cumulative buckets [{le, count}] of `name` (a histogram) whose other labels match `labels`.
export function buckets(samples, name, labels = {}) {
  return samples
    .filter((s) => s.name === `${name}_bucket` && Object.entries(labels).every(([k, v]) => s.labels[k] === v))
    .map((s) => ({ le: s.labels.le === "+Inf" ? Infinity : Number(s.labels.le), count: s.value }))
    .sort((a, b) => a.le - b.le);
}

// Bucket counts of `now` minus `before` (the observations between two scrapes).
export function delta(now, before) {
  if (!before) return now;
  return now.map((b, i) => ({ le: b.le, count: b.count - (before[i]?.count || 0) }));
}

// The q-quantile (0..1) by linear interpolation inside the bucket it falls in; null without observations.
export function quantile(cumulative, q) {
  if (!cumulative.length) return null;
  const total = cumulative[cumulative.length - 1].count;
  if (!total) return null;
  const rank = q * total;
  let lowerLe = 0;
  let lowerCount = 0;
  for (const b of cumulative) {
    if (b.count >= rank) {
      if (b.le === Infinity) return lowerLe;
      const inBucket = b.count - lowerCount;
      return inBucket > 0 ? lowerLe + ((b.le - lowerLe) * (rank - lowerCount)) / inBucket : b.le;
    }
    lowerLe = b.le;
    lowerCount = b.count;
  }
  return lowerLe;
}
