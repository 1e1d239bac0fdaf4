/**
 * The shape of a reduce over many partials (one per training shard) as a tree of small steps:
 * each step reads at most `group` partials, so no step reads a 1,000-shard run's partials at once
 * and the steps of one level run in parallel on every worker.
 *
 * Level 0 is the leaves (the shards, in order). Node j of level l ≥ 1 combines the nodes
 * [j·group, (j+1)·group) of level l − 1; levels are added until one holds at most `group` nodes,
 * and the final step combines those. Every combination is a left fold in node order, so a sum
 * of floats is ((c₀ + c₁) + c₂) + … within each group, groups nested bottom-up: a fixed order
 * given (leaves, group), which is why `group` is part of a run's content address. With
 * leaves ≤ group there is no inner level, and the order is the plain left fold over shards.
 */
export function reduceLevels(leaves: number, group: number): number[] {
  if (!(Number.isInteger(group) && group >= 2)) {
    throw new Error(`reduce group must be an integer ≥ 2, got ${group}`);
  }
  if (!(Number.isInteger(leaves) && leaves >= 1)) {
    throw new Error(`reduce needs at least one partial, got ${leaves}`);
  }
  const levels = [leaves];
  while (levels[levels.length - 1] > group) {
    levels.push(Math.ceil(levels[levels.length - 1] / group));
  }
  return levels;
}

/** The nodes [start, end) of level `level − 1` that node `node` of `level` combines. */
export function childRange(
  levels: number[],
  group: number,
  level: number,
  node: number,
): [number, number] {
  if (!(level >= 1 && level < levels.length)) {
    throw new Error(`reduce tree has no inner level ${level} (levels 1..${levels.length - 1})`);
  }
  if (!(Number.isInteger(node) && node >= 0 && node < levels[level])) {
    throw new Error(`reduce level ${level} has no node ${node} (it has ${levels[level]})`);
  }
  return [node * group, Math.min((node + 1) * group, levels[level - 1])];
}

/** Left fold of a non-empty list in order: the combination every node of the tree uses. */
export function foldInOrder<T>(items: readonly T[], add: (a: T, b: T) => T): T {
  if (items.length === 0) throw new Error('reduce: nothing to combine');
  let acc = items[0];
  for (let i = 1; i < items.length; i++) acc = add(acc, items[i]);
  return acc;
}

/**
 * The whole tree in memory: the same combinations in the same order as the distributed steps
 * (the reference the unit tests hold them to).
 */
export function reduceInTree<T>(leaves: readonly T[], group: number, add: (a: T, b: T) => T): T {
  const levels = reduceLevels(leaves.length, group);
  let nodes: readonly T[] = leaves;
  for (let l = 1; l < levels.length; l++) {
    const next: T[] = [];
    for (let j = 0; j < levels[l]; j++) {
      const [a, b] = childRange(levels, group, l, j);
      next.push(foldInOrder(nodes.slice(a, b), add));
    }
    nodes = next;
  }
  return foldInOrder(nodes, add);
}
