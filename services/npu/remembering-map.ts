/**
 * A Map by op id that remembers the entry looked up last (nearly every message is of the op before
 * it), so the hot path reads this object instead of probing the Map's table, a cache miss or two per
 * message. Anything that changes the map forgets the remembered entry.
 */
export class RememberingMap<V> {
  private readonly map = new Map<number, V>();
  private lastKey = -1;
  private lastValue: V | undefined;

  get size(): number { return this.map.size; }
  get(key: number): V | undefined {
    if (key === this.lastKey) return this.lastValue;
    const v = this.map.get(key);
    if (v !== undefined) { this.lastKey = key; this.lastValue = v; }
    return v;
  }
  has(key: number): boolean { return this.map.has(key); }
  set(key: number, value: V): void { this.map.set(key, value); this.forget(); }
  delete(key: number): void { this.map.delete(key); this.forget(); }
  clear(): void { this.map.clear(); this.forget(); }
  keys(): IterableIterator<number> { return this.map.keys(); }
  values(): IterableIterator<V> { return this.map.values(); }

  private forget(): void { this.lastKey = -1; this.lastValue = undefined; }
}
