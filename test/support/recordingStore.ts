import type { ObjectStore } from '../../lib/store/objectStore';

/** A store that records the data files read through it (manifests and plans aside). */
export function recording(store: ObjectStore): { store: ObjectStore; take: () => string[] } {
  let reads: string[] = [];
  const wrapped = new Proxy(store, {
    get(target, prop, receiver) {
      if (prop === 'get') {
        return (key: string) => {
          if (!key.endsWith('/MANIFEST.json') && !key.endsWith('/plan.json')) reads.push(key);
          return target.get(key);
        };
      }
      const v = Reflect.get(target, prop, receiver);
      return typeof v === 'function' ? v.bind(target) : v;
    },
  });
  return {
    store: wrapped,
    take: () => {
      const r = reads;
      reads = [];
      return r;
    },
  };
}
