package store

// Counts reports what the store holds: index entries (live, expired not
// yet reclaimed, and remembered used values), records in the arenas'
// expiry buckets (including removed ones not yet reclaimed), grants in
// the grant index, and interned metas.
func Counts(s *MemoryTokenStore) (entries, bucketed, grants, metas int) {
	for i := range s.shards {
		sh := &s.shards[i]
		sh.mu.Lock()
		entries += sh.idx.n
		for _, b := range sh.recs.buckets {
			for _, id := range b.chunks {
				bucketed += len(sh.recs.chunks[id])
			}
		}
		metas += len(sh.metas.idx)
		sh.mu.Unlock()
	}
	for i := range s.grants {
		g := &s.grants[i]
		g.mu.Lock()
		grants += len(g.m)
		g.mu.Unlock()
	}
	return entries, bucketed, grants, metas
}
