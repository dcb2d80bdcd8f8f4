/** Reading the API's GET /metrics (Prometheus text format) in tests: one scrape, and one series' value from it. */
import { client, type TestStack } from './stack';

/** The API's /metrics as a platform admin sees it. */
export async function scrapeMetrics(stack: TestStack): Promise<string> {
  const res = await client(stack.baseUrl, stack.adminToken).get('/metrics');
  if (res.status !== 200) throw new Error(`GET /metrics: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body as string;
}

/** The value of the first series named `name` that has every label given (others may be there too). */
export function seriesValue(text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  const wanted = Object.entries(labels).map(([k, v]) => `${k}="${v}"`);
  for (const line of text.split('\n')) {
    if (!line.startsWith(name)) continue;
    const match = /^([a-z_]+)(?:\{([^}]*)\})? (\S+)$/.exec(line);
    if (!match || match[1] !== name) continue;
    const have = (match[2] ?? '').split(',').filter(Boolean);
    if (wanted.every((w) => have.includes(w))) return Number(match[3]);
  }
  return undefined;
}
