// Package store holds the in-memory stores, the library default: a
// ClientStore and a sharded TokenStore that keeps every live code and token
// of one process (docs/architecture.md section 4). The persistent stores live in the
// sub-packages sqlite, postgres, mysql and redis, and every store passes the
// conformance kit in store/storetest.
package store

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/oauth2d/oauth2"
)

// ClientStore is an in-memory oauth2.ClientStore, safe for concurrent use:
// lookups take a read lock only.
type ClientStore struct {
	mu      sync.RWMutex
	clients map[string]oauth2.ClientInfo
}

var _ oauth2.ClientStore = (*ClientStore)(nil)

// NewClientStore returns an empty client store.
func NewClientStore() *ClientStore {
	return &ClientStore{clients: make(map[string]oauth2.ClientInfo)}
}

// errNilClient is returned by Set for a nil client.
var errNilClient = errors.New("store: nil client")

// Set registers cli under id, replacing any client of that ID. The store
// keeps cli itself, so a models.Client with a SecretHash keeps only the
// hash (RFC 6749 2.3.1 leaves secret storage to the server).
func (cs *ClientStore) Set(id string, cli oauth2.ClientInfo) error {
	if cli == nil {
		return errNilClient
	}
	cs.mu.Lock()
	cs.clients[id] = cli
	cs.mu.Unlock()
	return nil
}

// GetByID returns the client registered under id, or an error wrapping
// oauth2.ErrNotFound.
func (cs *ClientStore) GetByID(_ context.Context, id string) (oauth2.ClientInfo, error) {
	cs.mu.RLock()
	cli, ok := cs.clients[id]
	cs.mu.RUnlock()
	if !ok {
		return nil, fmt.Errorf("store: client: %w", oauth2.ErrNotFound)
	}
	return cli, nil
}
