package store

// Counts reports what the store holds: map entries (live, expired not yet
// reclaimed, and remembered used values), keys waiting in the expiry
// wheels, grants in the grant index, and interned metas.
func Counts(s *MemoryTokenStore) (entries, wheelKeys, grants, metas int) {
	for i := range s.shards {
		sh := &s.shards[i]
		sh.mu.Lock()
		entries += len(sh.m)
		for _, b := range sh.wheel.buckets {
			for _, seg := range b.segs {
				wheelKeys += len(seg)
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
	return entries, wheelKeys, grants, metas
}
