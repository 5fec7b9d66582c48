/**
 * A bounded in-process cache whose entries are valid for one revision of the
 * data they were built from (e.g. the help content revision). Oldest entries
 * go first when full. Only for data that is the same for every user.
 */
export class RevisionCache<V> {
  private readonly entries = new Map<string, { revision: number; value: V }>()

  constructor(private readonly maxEntries: number) {}

  /** Loads under way: requests for the same key and revision wait for the one load, not start their own. */
  private readonly loading = new Map<string, { revision: number; value: Promise<V> }>()

  async get(key: string, revision: number, load: () => Promise<V> | V): Promise<V> {
    const hit = this.entries.get(key)
    if (hit && hit.revision === revision) return hit.value
    const pending = this.loading.get(key)
    if (pending && pending.revision === revision) return pending.value
    const loaded = Promise.resolve().then(load)
    this.loading.set(key, { revision, value: loaded })
    let value: V
    try {
      value = await loaded
    } finally {
      if (this.loading.get(key)?.value === loaded) this.loading.delete(key)
    }
    this.entries.delete(key)
    this.entries.set(key, { revision, value })
    if (this.entries.size > this.maxEntries) {
      const oldest = this.entries.keys().next()
      if (!oldest.done) this.entries.delete(oldest.value)
    }
    return value
  }

  clear(): void {
    this.entries.clear()
    this.loading.clear()
  }
}
