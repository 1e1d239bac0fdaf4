import assert from 'node:assert/strict';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { pathToFileURL } from 'node:url';
import { chromium } from 'playwright-core';
import { type Dataset, exampleSize } from '../../../lib/data/dataset';
import {
  FASHION_MNIST_CLASSES,
  FASHION_MNIST_DIR,
  importFashionMnist,
} from '../../../lib/data/importIdx';
import { Rng } from '../../../lib/data/rng';
import { type ReportData, type ReportImage, renderReport } from '../../../lib/report/renderReport';

const CHROMIUM = '/usr/bin/chromium';
const ARTIFACTS = join(process.cwd(), 'out', 'test-artifacts');

/** Fashion-MNIST images when the Debian package is installed, else synthetic 28×28 patterns. */
function images(): Dataset {
  if (existsSync(FASHION_MNIST_DIR)) return importFashionMnist('t10k', { limit: 80 });
  const n = 80;
  const x = new Float32Array(n * 784);
  for (let i = 0; i < n; i++) {
    for (let p = 0; p < 784; p++)
      x[i * 784 + p] = ((Math.floor(p / 28) + (p % 28) * (i % 5)) % 28) / 27;
  }
  return {
    name: 'synthetic',
    kind: 'image',
    shape: [28, 28, 1],
    classes: FASHION_MNIST_CLASSES,
    rows: n,
    ids: Int32Array.from({ length: n }, (_, i) => i),
    labels: Int32Array.from({ length: n }, (_, i) => i % 10),
    x,
  };
}

function reportData(): { data: ReportData; firstImage: ReportImage } {
  const ds = images();
  const d = exampleSize(ds.shape);
  const img = (i: number): ReportImage => ({
    width: 28,
    height: 28,
    pixels: Array.from(ds.x!.subarray(i * d, (i + 1) * d)),
  });
  const rng = new Rng(3);
  const ex = (i: number, sign: number) => ({
    id: i,
    score: sign * (1 + rng.next() * 5),
    label: ds.labels[i],
    image: img(i),
  });
  const queries = [0, 1, 2].map((q) => ({
    id: 1000 + q,
    givenLabel: ds.labels[q],
    predictedLabel: q === 2 ? (ds.labels[q] + 1) % 10 : ds.labels[q],
    image: img(q),
    proponents: Array.from({ length: 6 }, (_, k) => ex(10 + q * 12 + k, 1)),
    opponents: Array.from({ length: 6 }, (_, k) => ex(16 + q * 12 + k, -1)),
  }));
  queries.push({
    id: 2000,
    givenLabel: 1,
    predictedLabel: 1,
    image: undefined as never,
    // Must be shown as text, never run.
    text: 'Subject: WIN <script>alert("x")</script> money & prizes',
    proponents: [
      { id: 5, score: 2.5, label: 1, text: 'cheap <b>pills</b> now', image: undefined as never },
    ],
    opponents: [],
  } as never);
  const scores = Array.from(
    { length: 5000 },
    () => (rng.next() + rng.next() + rng.next() - 1.5) * 4,
  );
  const selfInf = Array.from({ length: 5000 }, () => -Math.log(rng.next() + 1e-9));
  const data: ReportData = {
    title: 'TracIn-CP on Fashion-MNIST (test)',
    classes: FASHION_MNIST_CLASSES,
    run: {
      method: 'TracIn-CP',
      modelHash: 'f'.repeat(64),
      trainCount: 60000,
      queryCount: queries.length,
      checkpoints: 3,
      dataset: ds.name,
      timings: { featurize: 12.5, score: 0.8 },
      extra: { projection: 'kronecker k=1024' },
    },
    queries,
    distributions: [
      { name: 'scores (all queries)', values: scores },
      { name: 'self-influence', values: selfInf },
    ],
    mislabels: {
      method: 'TracIn self-influence',
      rows: Array.from({ length: 12 }, (_, i) => ({
        id: 40 + i,
        score: 20 - i,
        givenLabel: ds.labels[40 + i],
        predictedLabel: (ds.labels[40 + i] + (i % 3 === 0 ? 0 : 3)) % 10,
        image: img(40 + i),
        flipped: i % 3 !== 0,
        originalLabel: i % 3 !== 0 ? (ds.labels[40 + i] + 1) % 10 : undefined,
      })),
      detection: {
        flippedTotal: 6000,
        inspected: [
          { fraction: 0.05, found: 2500 },
          { fraction: 0.1, found: 4700 },
          { fraction: 0.2, found: 5800 },
          { fraction: 0.3, found: 5950 },
        ],
        auc: 0.973,
      },
    },
  };
  return { data, firstImage: img(0) };
}

test('renderReport escapes text and refuses malformed images', () => {
  const { data } = reportData();
  const html = renderReport(data);
  assert.ok(!html.includes('<script>alert'), 'snippet HTML must be escaped');
  assert.ok(html.includes('&lt;script&gt;alert'));
  assert.ok(!/(src|href)="(https?:)?\/\//.test(html), 'no external resources');
  const bad = structuredClone(data);
  bad.queries[0].image!.pixels = [0, 1];
  assert.throws(
    () => renderReport(bad),
    /report image "query 1000": 2 pixel values, expected 28×28×1/,
  );
  assert.throws(() => renderReport({} as ReportData), /needs `run` and a `queries` list/);
});

test('the report renders in headless Chromium with its elements and no console errors', {
  skip:
    !existsSync(CHROMIUM) &&
    `${CHROMIUM} not found: install the Debian package "chromium" to run this test`,
}, async () => {
  const { data, firstImage } = reportData();
  mkdirSync(ARTIFACTS, { recursive: true });
  const file = join(ARTIFACTS, 'report.html');
  writeFileSync(file, renderReport(data));
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
    ],
  });
  try {
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    const problems: string[] = [];
    page.on('console', (m) => {
      if (m.type() === 'error' || m.type() === 'warning') problems.push(`${m.type()}: ${m.text()}`);
    });
    page.on('pageerror', (e) => problems.push(`pageerror: ${e.message}`));
    page.on('dialog', (d) => {
      problems.push(`dialog: ${d.message()}`);
      void d.dismiss();
    });
    page.on('request', (r) => {
      if (!r.url().startsWith('file:') && !r.url().startsWith('data:'))
        problems.push(`request: ${r.url()}`);
    });
    await page.goto(pathToFileURL(file).href);
    await page.waitForLoadState('load');

    assert.equal(await page.locator('.query-card').count(), 4);
    assert.equal(await page.locator('.query-card .proponents img').count(), 18);
    assert.equal(await page.locator('.query-card .opponents img').count(), 18);
    assert.equal(await page.locator('table.mislabels tbody tr').count(), 12);
    assert.equal(await page.locator('table.mislabels img').count(), 12);
    assert.equal(await page.locator('svg.histogram').count(), 2);
    assert.equal(await page.locator('svg.histogram').first().locator('rect.bar').count(), 40);
    assert.match(
      ((await page.locator('table.detection').textContent()) ?? '').replace(/\s+/g, ' '),
      /41\.7% \(2500\).*78\.3% \(4700\)/,
    );
    assert.match(
      (await page.locator('table.mislabels tbody tr').nth(1).textContent()) ?? '',
      /flipped was /,
    );
    assert.match(
      (await page.locator('[data-query="2000"]').textContent()) ?? '',
      /WIN <script>alert\("x"\)<\/script> money & prizes/,
    );

    // Every image decoded, and the first query's pixels are the ones given (drawn back via a canvas).
    const decoded = await page.evaluate(() =>
      Array.from(document.images).every((im) => im.complete && im.naturalWidth > 0),
    );
    assert.ok(decoded, 'an image failed to decode');
    const px = await page.evaluate(() => {
      const im = document.querySelector('[data-query="1000"] .query img') as HTMLImageElement;
      const c = document.createElement('canvas');
      c.width = im.naturalWidth;
      c.height = im.naturalHeight;
      const ctx = c.getContext('2d')!;
      ctx.drawImage(im, 0, 0);
      const d = ctx.getImageData(0, 0, c.width, c.height).data;
      return {
        w: c.width,
        h: c.height,
        grey: Array.from({ length: c.width * c.height }, (_, i) => d[i * 4]),
      };
    });
    assert.equal(px.w, 28);
    assert.equal(px.h, 28);
    for (let i = 0; i < 784; i++) {
      assert.ok(
        Math.abs(px.grey[i] - Math.round(firstImage.pixels[i] * 255)) <= 1,
        `pixel ${i}: ${px.grey[i]}`,
      );
    }

    // The inline script works: clicking enlarges an image.
    const first = page.locator('.query-card .proponents img').first();
    await first.click();
    assert.equal(await first.evaluate((e) => e.classList.contains('zoom')), true);
    await first.click();

    await page.screenshot({ path: join(ARTIFACTS, 'report.png'), fullPage: true });
    assert.deepEqual(problems, []);
  } finally {
    await browser.close();
  }
});

test("renderReport names examples by the user's id (tda import --id) where the data set has one", () => {
  const { data } = reportData();
  const withKeys = structuredClone(data);
  withKeys.queries[0].key = 'order-<7>';
  withKeys.queries[0].proponents[0].key = 'cust-0042';
  withKeys.mislabels!.rows[0].key = 'cust-0099';
  const html = renderReport(withKeys);
  assert.ok(html.includes('<b>Query order-&lt;7&gt;</b>'));
  assert.ok(html.includes('data-key="cust-0042"'));
  assert.match(html, /data-key="cust-0099"><td>1<\/td><td>cust-0099<\/td>/);
  // Without keys, the row ids as before.
  const plain = renderReport(data);
  assert.ok(plain.includes(`<b>Query #${data.queries[0].id}</b>`));
  assert.ok(!plain.includes('data-key='));
});
