import assert from 'node:assert/strict';
import { test } from 'node:test';
import { agreementChart, lineChart, niceTicks } from '../../../lib/eval/chart';

interface XmlNode {
  name: string;
  attrs: Record<string, string>;
  children: XmlNode[];
  text: string;
}

/** A strict little XML parser: throws on mismatched tags, bad attributes or stray '<' / '&'. */
function parseXml(src: string): XmlNode {
  const root: XmlNode = { name: '#root', attrs: {}, children: [], text: '' };
  const stack = [root];
  const tag = /<\/?([A-Za-z][\w:-]*)((?:\s+[\w:-]+="[^"<]*")*)\s*(\/?)>/y;
  let i = 0;
  while (i < src.length) {
    if (src[i] === '<') {
      tag.lastIndex = i;
      const m = tag.exec(src);
      if (!m) throw new Error(`malformed tag at ${i}: ${src.slice(i, i + 40)}`);
      const [whole, name, attrText, selfClose] = m;
      if (whole.startsWith('</')) {
        const top = stack.pop();
        if (!top || top.name !== name) throw new Error(`</${name}> closes <${top?.name}>`);
      } else {
        const attrs: Record<string, string> = {};
        for (const a of attrText.matchAll(/([\w:-]+)="([^"]*)"/g)) {
          if (a[1] in attrs) throw new Error(`duplicate attribute ${a[1]}`);
          attrs[a[1]] = a[2];
        }
        const node: XmlNode = { name, attrs, children: [], text: '' };
        stack[stack.length - 1].children.push(node);
        if (!selfClose) stack.push(node);
      }
      i += whole.length;
    } else {
      const next = src.indexOf('<', i);
      const text = src.slice(i, next < 0 ? src.length : next);
      if (/&(?!(amp|lt|gt|quot|apos);)/.test(text)) throw new Error(`bare & in text: ${text}`);
      stack[stack.length - 1].text += text;
      i += text.length;
    }
  }
  if (stack.length !== 1) throw new Error(`unclosed <${stack[stack.length - 1].name}>`);
  return root;
}

function all(node: XmlNode, name: string): XmlNode[] {
  return node.children.flatMap((c) => [...(c.name === name ? [c] : []), ...all(c, name)]);
}

test('the agreement chart is well-formed SVG with one path per method, axes, ticks and legend', () => {
  const methods = ['Grad-Dot', 'Grad-Cos', 'TracIn <CP> & co'];
  const results = methods.flatMap((method, k) =>
    [1, 5, 10, 50].map((step) => ({
      method,
      step,
      value: 0.9 - 0.1 * k - step / 100,
      ci: [0.8 - 0.1 * k - step / 100, 0.95 - 0.1 * k - step / 100] as [number, number],
    })),
  );
  const svg = agreementChart(results, { title: 'Cosine vs T' });
  const doc = parseXml(svg);
  assert.equal(doc.children.length, 1);
  const root = doc.children[0];
  assert.equal(root.name, 'svg');
  assert.equal(root.attrs.xmlns, 'http://www.w3.org/2000/svg');
  const paths = all(root, 'path').filter((p) => p.attrs.class === 'series');
  assert.equal(paths.length, methods.length);
  assert.deepEqual(
    paths.map((p) => p.attrs['data-name']),
    ['Grad-Dot', 'Grad-Cos', 'TracIn &lt;CP&gt; &amp; co'],
  );
  for (const p of paths) {
    assert.equal(p.attrs.d.split(' ').filter((s) => /^[ML]/.test(s)).length, 4);
    assert.ok(!/NaN|undefined/.test(p.attrs.d));
  }
  assert.equal(all(root, 'polygon').length, methods.length);
  assert.equal(all(root, 'line').filter((l) => l.attrs.class === 'axis').length, 2);
  assert.ok(all(root, 'line').filter((l) => l.attrs.class === 'tick').length >= 8);
  const legend = all(root, 'text').filter((t) => t.attrs.class === 'legend');
  assert.deepEqual(
    legend.map((t) => t.text),
    ['Grad-Dot', 'Grad-Cos', 'TracIn &lt;CP&gt; &amp; co'],
  );
  assert.ok(all(root, 'text').some((t) => t.text === 'Cosine vs T'));
  // Points are ordered left to right.
  const xs = paths[0].attrs.d.split(' ').map((s) => Number(s.slice(1).split(',')[0]));
  assert.deepEqual(
    [...xs].sort((a, b) => a - b),
    xs,
  );
});

test('chart edge cases and bad input', () => {
  const svg = lineChart([{ name: 'one', points: [{ x: 3, y: 0.5 }] }], { logX: true });
  assert.equal(all(parseXml(svg), 'path').length, 1);
  assert.throws(() => lineChart([]), /at least one series/);
  assert.throws(
    () => lineChart([{ name: 'a', points: [{ x: 0, y: 1 }] }], { logX: true }),
    /x > 0/,
  );
  assert.deepEqual(niceTicks(-1, 1, 4), [-1, -0.5, 0, 0.5, 1]);
  assert.throws(() => parseXml('<a><b></a>'), /closes/);
});
