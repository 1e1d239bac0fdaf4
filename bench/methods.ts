/** Throughput of the shared blockwise product behind every method (Grad-Dot, queries × train × dim). */
import { gradDot } from '../lib/methods/gradDot';

const queries = 64;
const train = 4096;
const dim = 1024;
const make = (rows: number, seed: number) => {
  const data = new Float32Array(rows * dim);
  let s = seed;
  for (let k = 0; k < data.length; k++) {
    s = (s * 1103515245 + 12345) >>> 0;
    data[k] = s / 4294967296 - 0.5;
  }
  return {
    grads: { rows, dim, data, layers: [] },
    loss: new Float32Array(rows),
    sqNorm: new Float64Array(rows),
  };
};
const t = make(train, 1);
const q = make(queries, 2);
gradDot(t, q); // warm up
const start = performance.now();
const reps = 3;
for (let r = 0; r < reps; r++) gradDot(t, q);
const seconds = (performance.now() - start) / 1000 / reps;
const gflops = (2 * queries * train * dim) / seconds / 1e9;
console.log(
  `gradDot ${queries} queries × ${train} train × dim ${dim}: ${seconds.toFixed(3)} s, ${gflops.toFixed(2)} GFLOP/s`,
);
console.log(JSON.stringify({ bench: 'methodsScore', queries, train, dim, seconds, gflops }));
