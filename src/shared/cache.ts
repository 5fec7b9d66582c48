/**
 * A bounded in-process cache whose entries are valid for one revision of the
 * data they were built from (e.g. the help content revision). Oldest entries
 * go first when full. Only for data that is the same for every user.
 */
export class RevisionCache<V> {
  private readonly entries = new Map<string, { revision: number; value: V }>()

  constructor(private readonly maxEntries: number) {}

  async get(key: string, revision: number, load: () => Promise<V> | V): Promise<V> {
    const hit = this.entries.get(key)
    if (hit && hit.revision === revision) return hit.value
    const value = await load()
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
  }
}
