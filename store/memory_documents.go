package store

import (
	"context"
	"fmt"
	"sort"
	"sync"

	"github.com/oauth2d/oauth2"
)

// MemoryDocuments is an in-memory oauth2.DocumentStore, safe for
// concurrent use. Documents are few and change rarely (clients and users
// an administrator manages), so one read-write lock is enough; reads take
// the read lock only.
type MemoryDocuments struct {
	mu    sync.RWMutex
	kinds map[string]map[string][]byte
	// versions counts the changes of each kind, under mu.
	versions map[string]int64
}

var _ oauth2.DocumentStore = (*MemoryDocuments)(nil)

// NewMemoryDocuments returns an empty document store.
func NewMemoryDocuments() *MemoryDocuments {
	return &MemoryDocuments{kinds: make(map[string]map[string][]byte), versions: make(map[string]int64)}
}

// CreateDocument stores a copy of body under (kind, id) unless a document
// is there (oauth2.ErrExists).
func (d *MemoryDocuments) CreateDocument(_ context.Context, kind, id string, body []byte) error {
	if err := oauth2.CheckDocument(kind, id, body); err != nil {
		return err
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	m := d.kinds[kind]
	if m == nil {
		m = make(map[string][]byte)
		d.kinds[kind] = m
	}
	if _, ok := m[id]; ok {
		return fmt.Errorf("store: document %s: %w", kind, oauth2.ErrExists)
	}
	m[id] = append([]byte(nil), body...)
	d.versions[kind]++
	return nil
}

// UpdateDocument replaces the body of an existing document
// (oauth2.ErrNotFound when there is none).
func (d *MemoryDocuments) UpdateDocument(_ context.Context, kind, id string, body []byte) error {
	if err := oauth2.CheckDocument(kind, id, body); err != nil {
		return err
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	m := d.kinds[kind]
	if _, ok := m[id]; !ok {
		return fmt.Errorf("store: document %s: %w", kind, oauth2.ErrNotFound)
	}
	m[id] = append([]byte(nil), body...)
	d.versions[kind]++
	return nil
}

// GetDocument returns a copy of the body of a document.
func (d *MemoryDocuments) GetDocument(_ context.Context, kind, id string) ([]byte, error) {
	if err := oauth2.CheckDocument(kind, id, nil); err != nil {
		return nil, err
	}
	d.mu.RLock()
	b, ok := d.kinds[kind][id]
	d.mu.RUnlock()
	if !ok {
		return nil, fmt.Errorf("store: document %s: %w", kind, oauth2.ErrNotFound)
	}
	return append([]byte(nil), b...), nil
}

// DeleteDocument removes a document (oauth2.ErrNotFound when there is
// none).
func (d *MemoryDocuments) DeleteDocument(_ context.Context, kind, id string) error {
	if err := oauth2.CheckDocument(kind, id, nil); err != nil {
		return err
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	m := d.kinds[kind]
	if _, ok := m[id]; !ok {
		return fmt.Errorf("store: document %s: %w", kind, oauth2.ErrNotFound)
	}
	delete(m, id)
	d.versions[kind]++
	return nil
}

// ListDocuments returns up to limit documents of kind with IDs after
// after, in ascending order. It sorts the kind's IDs on every call, which
// is fine for the hundreds of clients and users an administrator keeps.
func (d *MemoryDocuments) ListDocuments(_ context.Context, kind, after string, limit int) ([]oauth2.Document, error) {
	if err := oauth2.CheckListLimit(limit); err != nil {
		return nil, fmt.Errorf("store: %w", err)
	}
	d.mu.RLock()
	defer d.mu.RUnlock()
	m := d.kinds[kind]
	ids := make([]string, 0, len(m))
	for id := range m {
		if id > after {
			ids = append(ids, id)
		}
	}
	sort.Strings(ids)
	if len(ids) > limit {
		ids = ids[:limit]
	}
	out := make([]oauth2.Document, len(ids))
	for i, id := range ids {
		out[i] = oauth2.Document{ID: id, Body: append([]byte(nil), m[id]...)}
	}
	return out, nil
}

// DocumentsVersion returns the number of changes made so far to the
// documents of kind (0 for a kind never written).
func (d *MemoryDocuments) DocumentsVersion(_ context.Context, kind string) (int64, error) {
	d.mu.RLock()
	defer d.mu.RUnlock()
	return d.versions[kind], nil
}

// The MemoryTokenStore is also an oauth2.DocumentStore, through a
// MemoryDocuments of its own.

// CreateDocument implements oauth2.DocumentStore.
func (s *MemoryTokenStore) CreateDocument(ctx context.Context, kind, id string, body []byte) error {
	return s.docs.CreateDocument(ctx, kind, id, body)
}

// UpdateDocument implements oauth2.DocumentStore.
func (s *MemoryTokenStore) UpdateDocument(ctx context.Context, kind, id string, body []byte) error {
	return s.docs.UpdateDocument(ctx, kind, id, body)
}

// GetDocument implements oauth2.DocumentStore.
func (s *MemoryTokenStore) GetDocument(ctx context.Context, kind, id string) ([]byte, error) {
	return s.docs.GetDocument(ctx, kind, id)
}

// DeleteDocument implements oauth2.DocumentStore.
func (s *MemoryTokenStore) DeleteDocument(ctx context.Context, kind, id string) error {
	return s.docs.DeleteDocument(ctx, kind, id)
}

// ListDocuments implements oauth2.DocumentStore.
func (s *MemoryTokenStore) ListDocuments(ctx context.Context, kind, after string, limit int) ([]oauth2.Document, error) {
	return s.docs.ListDocuments(ctx, kind, after, limit)
}

// DocumentsVersion implements oauth2.DocumentStore.
func (s *MemoryTokenStore) DocumentsVersion(ctx context.Context, kind string) (int64, error) {
	return s.docs.DocumentsVersion(ctx, kind)
}
