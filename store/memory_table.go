package store

import (
	"crypto/rand"
	"encoding/binary"
	"math/bits"
)

// hasher is a keyed hash of keys, so that values a custom generator makes
// with a pattern (a counter, a fixed prefix) still spread over shards and
// slots. Keys are 32 bytes, usually random already; this mixes every byte
// with a per-store secret in a few multiplications.
type hasher struct{ s [5]uint64 }

func newHasher() *hasher {
	var b [40]byte
	_, _ = rand.Read(b[:])
	h := &hasher{}
	for i := range h.s {
		h.s[i] = binary.LittleEndian.Uint64(b[8*i:]) | 1
	}
	return h
}

func mum(a, b uint64) uint64 {
	hi, lo := bits.Mul64(a, b)
	return hi ^ lo
}

func (h *hasher) sum(k *tkey) uint64 {
	a := mum(binary.LittleEndian.Uint64(k[0:])^h.s[0], binary.LittleEndian.Uint64(k[8:])^h.s[1])
	b := mum(binary.LittleEndian.Uint64(k[16:])^h.s[2], binary.LittleEndian.Uint64(k[24:])^h.s[3])
	return mum(a^b, h.s[4])
}

// sameKey compares two keys a word at a time, inline.
func sameKey(a, b *tkey) bool {
	le := binary.LittleEndian
	return le.Uint64(a[0:]) == le.Uint64(b[0:]) && le.Uint64(a[8:]) == le.Uint64(b[8:]) &&
		le.Uint64(a[16:]) == le.Uint64(b[16:]) && le.Uint64(a[24:]) == le.Uint64(b[24:])
}

// index maps keys to records: an open-addressing table with linear probing
// whose 8-byte slots hold the low 32 bits of the key's hash and the
// record's ref (plus one; 0 is empty). It is small enough to stay in cache
// where the records would not, it never reads a record but to confirm a
// hash match, and backward-shift deletion leaves no tombstones, so a table
// under steady churn keeps its size: between 3/8 and 3/4 full while it
// grows, halved once less than 1/8 full.
type index struct {
	slots []uint64
	n     int
}

const minIndexCap = 16

func (x *index) init() { x.slots = make([]uint64, minIndexCap) }

func slotOf(h uint64, ref uint32) uint64 { return uint64(uint32(h))<<32 | (uint64(ref) + 1) }

// find returns the slot of k and its record's ref, or the empty slot that
// ends its probe.
func (x *index) find(k *tkey, h uint64, a *arena) (uint64, uint32, bool) {
	mask := uint64(len(x.slots) - 1)
	hi := uint64(uint32(h)) << 32
	for i := h & mask; ; i = (i + 1) & mask {
		s := x.slots[i]
		if s == 0 {
			return i, 0, false
		}
		if s&^0xffffffff == hi {
			ref := uint32(s) - 1
			if sameKey(&a.at(ref).key, k) {
				return i, ref, true
			}
		}
	}
}

// insert puts ref in the empty slot i that find returned for hash h.
func (x *index) insert(i, h uint64, ref uint32) {
	if (x.n+1)*4 > len(x.slots)*3 {
		x.resize(2 * len(x.slots))
		mask := uint64(len(x.slots) - 1)
		for i = h & mask; x.slots[i] != 0; i = (i + 1) & mask {
		}
	}
	x.slots[i] = slotOf(h, ref)
	x.n++
}

// setRef points the full slot i at another record of the same key.
func (x *index) setRef(i uint64, ref uint32) {
	x.slots[i] = x.slots[i]&^0xffffffff | (uint64(ref) + 1)
}

// remove empties slot i, shifting back each later slot of the probe run
// whose home is not after the hole.
func (x *index) remove(i uint64) {
	mask := uint64(len(x.slots) - 1)
	for j := i; ; {
		j = (j + 1) & mask
		s := x.slots[j]
		if s == 0 {
			break
		}
		if home := (s >> 32) & mask; (j-home)&mask >= (j-i)&mask {
			x.slots[i] = s
			i = j
		}
	}
	x.slots[i] = 0
	x.n--
	if len(x.slots) > minIndexCap && x.n*8 < len(x.slots) {
		x.resize(len(x.slots) / 2)
	}
}

func (x *index) resize(c int) {
	old := x.slots
	x.slots = make([]uint64, c)
	mask := uint64(c - 1)
	for _, s := range old {
		if s == 0 {
			continue
		}
		j := (s >> 32) & mask
		for x.slots[j] != 0 {
			j = (j + 1) & mask
		}
		x.slots[j] = s
	}
}

// record is one key and its entry, 56 bytes with no pointer; an entry
// with info 0 marks a record removed or replaced.
type record struct {
	key tkey
	e   entry
}

// A ref names a record: chunk id in the high 24 bits, offset in the low 8.
const (
	chunkBits = 8
	chunkMax  = 1 << chunkBits
	chunkMin  = 4
)

// arena holds a shard's records in chunks that never move. Records that
// expire go to the bucket of their expiry time, so that the reclaim reads
// them in order, a bucket at a time, and frees whole chunks; records that
// never expire go to a pool whose freed records are reused.
type arena struct {
	chunks  [][]record // by chunk id; nil when free
	freeIDs []uint32
	buckets map[bucketKey]*bucket
	heap    []*bucket // by due, a min-heap
	never   bucket    // the records that never expire
	reuse   []uint32  // freed refs of never
	last    *bucket   // the bucket added to last: runs of one lifetime share it
}

// A bucket holds the records expiring in one span of time; spans are
// about a thousandth of the records' lifetime and at least a second, so
// that short and long lifetimes both make few buckets.
type bucketKey struct {
	shift uint8
	id    int64
}

type bucket struct {
	key    bucketKey
	due    int64    // the end of its span: every record in it has expired then
	chunks []uint32 // the last one is filling
	pos    int      // reclaim cursor: chunk index and offset
	off    int
}

// reclaimHorizon: expiries later than this (about year 2200) are kept as
// never expiring for the reclaim; reads still check them.
const reclaimHorizon = int64(7_258_118_400) * 1e9

func (a *arena) init() {
	a.buckets = make(map[bucketKey]*bucket)
}

func (a *arena) at(ref uint32) *record {
	return &a.chunks[ref>>chunkBits][ref&(chunkMax-1)]
}

// bucketFor returns the bucket of a record expiring at at after living
// ttl, creating it.
func (a *arena) bucketFor(at, ttl int64) *bucket {
	shift := spanShift(ttl)
	k := bucketKey{shift: shift, id: at >> shift}
	if b := a.last; b != nil && b.key == k {
		return b
	}
	b := a.buckets[k]
	a.last = b
	if b == nil {
		b = &bucket{key: k, due: (k.id + 1) << shift}
		a.buckets[k] = b
		a.push(b)
		a.last = b
	}
	return b
}

// spanShift returns the log2 of the span, in nanoseconds, of the buckets
// of records living ttl: about a thousandth of ttl, at least about a
// second.
func spanShift(ttl int64) uint8 {
	if n := bits.Len64(uint64(ttl)); n > 40 {
		return uint8(n - 10)
	}
	return 30
}

// add stores a record and returns its ref.
func (a *arena) add(k *tkey, e entry) uint32 {
	at := e.expiresAt()
	b := &a.never
	if at < reclaimHorizon {
		b = a.bucketFor(at, e.ttl)
	} else if n := len(a.reuse); n > 0 {
		ref := a.reuse[n-1]
		a.reuse = a.reuse[:n-1]
		*a.at(ref) = record{key: *k, e: e}
		return ref
	}
	n := len(b.chunks)
	if n == 0 || len(a.chunks[b.chunks[n-1]]) == cap(a.chunks[b.chunks[n-1]]) {
		size := chunkMin
		if n > 0 {
			size = min(2*cap(a.chunks[b.chunks[n-1]]), chunkMax)
		}
		b.chunks = append(b.chunks, a.newChunk(size))
		n++
	}
	id := b.chunks[n-1]
	off := len(a.chunks[id])
	a.chunks[id] = append(a.chunks[id], record{key: *k, e: e})
	return id<<chunkBits | uint32(off)
}

func (a *arena) newChunk(size int) uint32 {
	recs := make([]record, 0, size)
	if n := len(a.freeIDs); n > 0 {
		id := a.freeIDs[n-1]
		a.freeIDs = a.freeIDs[:n-1]
		a.chunks[id] = recs
		return id
	}
	a.chunks = append(a.chunks, recs)
	return uint32(len(a.chunks) - 1)
}

// free marks the record at ref removed; a record that never expires is
// reused, the others go with their bucket.
func (a *arena) free(ref uint32, r *record) {
	if r.e.expiresAt() >= reclaimHorizon {
		a.reuse = append(a.reuse, ref)
	}
	r.e = entry{}
}

// due returns when the first bucket is over, neverAt when there is none.
func (a *arena) due() int64 {
	if len(a.heap) == 0 {
		return neverAt
	}
	return a.heap[0].due
}

// next returns the next record of a bucket due at now, nil when none is
// due; it frees each bucket it finishes.
func (a *arena) next(now int64) (uint32, *record) {
	for len(a.heap) > 0 && a.heap[0].due <= now {
		b := a.heap[0]
		for b.pos < len(b.chunks) {
			id := b.chunks[b.pos]
			if b.off < len(a.chunks[id]) {
				b.off++
				return id<<chunkBits | uint32(b.off-1), &a.chunks[id][b.off-1]
			}
			b.pos, b.off = b.pos+1, 0
		}
		for _, id := range b.chunks {
			a.chunks[id] = nil
			a.freeIDs = append(a.freeIDs, id)
		}
		delete(a.buckets, b.key)
		if a.last == b {
			a.last = nil
		}
		a.pop()
	}
	return 0, nil
}

func (a *arena) push(b *bucket) {
	h := append(a.heap, b)
	for i := len(h) - 1; i > 0; {
		p := (i - 1) / 2
		if h[p].due <= h[i].due {
			break
		}
		h[p], h[i] = h[i], h[p]
		i = p
	}
	a.heap = h
}

func (a *arena) pop() {
	h := a.heap
	n := len(h) - 1
	h[0] = h[n]
	h[n] = nil
	h = h[:n]
	for i := 0; ; {
		l, m := 2*i+1, i
		if l < n && h[l].due < h[m].due {
			m = l
		}
		if l+1 < n && h[l+1].due < h[m].due {
			m = l + 1
		}
		if m == i {
			break
		}
		h[i], h[m] = h[m], h[i]
		i = m
	}
	a.heap = h
}
