package oauth2d

import (
	"context"
	stderrors "errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/oauth2d/oauth2"
	"github.com/oauth2d/oauth2/models"
	"github.com/oauth2d/oauth2/oidc"
	"github.com/oauth2d/oauth2/store"
)

// The registry of clients and users (docs/architecture.md section 6.2):
// those of the YAML file, read-only, then those kept in the store. Store
// clients are cached per process, converted to models.Client once; the
// cache is dropped whenever the store's DocumentsVersion of the kind
// "client" changes, which one goroutine polls every documentsPoll, so
// that a client changed through any process is seen by every process
// within a second. Writes of other kinds (users, the grant index written
// on every code issuance and refresh) leave that version, and so the
// cache, alone. Users are not cached: each lookup reads the store. Unknown
// IDs are not cached: each costs one indexed lookup and no memory.

// documentsPoll is how often the App reads the version of the clients.
const documentsPoll = 250 * time.Millisecond

// errNoDocuments: the store cannot keep clients and users.
var errNoDocuments = stderrors.New("oauth2d: the store does not keep clients and users (no oauth2.DocumentStore)")

// clientRegistry is the App's oauth2.ClientStore.
type clientRegistry struct {
	yaml *store.ClientStore
	// yamlIDs are the IDs of the YAML clients, never changed.
	yamlIDs map[string]*ClientConfig
	docs    oauth2.DocumentStore // nil: no store-kept clients
	cfg     *Config
	log     *slog.Logger
	cache   atomic.Pointer[clientCache]
}

// clientCache holds the store clients read since the DocumentsVersion of
// the clients was version.
type clientCache struct {
	version int64
	clients sync.Map // client ID -> *cachedClient
}

// cachedClient is a store client as the server reads it, and its
// configuration; or, with refused, a document this configuration does not
// accept, remembered so that each request for it costs neither a store
// read nor a log line.
type cachedClient struct {
	model   *models.Client
	cfg     ClientConfig
	refused bool
}

// errRefusedClient: the store's document of a client is not valid with
// this configuration; the client is treated as unknown.
var errRefusedClient = fmt.Errorf("oauth2d: client: refused by this configuration: %w", oauth2.ErrNotFound)

var _ oauth2.ClientStore = (*clientRegistry)(nil)

// GetByID returns a YAML client, else a store client, or an error wrapping
// oauth2.ErrNotFound (oauth2.ClientStore).
func (r *clientRegistry) GetByID(ctx context.Context, id string) (oauth2.ClientInfo, error) {
	if _, ok := r.yamlIDs[id]; ok {
		return r.yaml.GetByID(ctx, id)
	}
	// A store client: no error value made for the YAML miss.
	c, err := r.stored(ctx, id)
	if err != nil {
		return nil, err
	}
	return c.model, nil
}

// stored returns a store client from the cache, reading it on a miss. The
// ID of a YAML client is never one of the store's: no round trip.
func (r *clientRegistry) stored(ctx context.Context, id string) (*cachedClient, error) {
	if _, yaml := r.yamlIDs[id]; yaml || r.docs == nil {
		return nil, fmt.Errorf("oauth2d: client: %w", oauth2.ErrNotFound)
	}
	cache := r.cache.Load()
	if c, ok := cache.clients.Load(id); ok {
		if c := c.(*cachedClient); !c.refused {
			return c, nil
		}
		return nil, errRefusedClient
	}
	if oauth2.CheckDocument(docClient, id, nil) != nil {
		// Not an ID a document can have: no store round trip.
		return nil, fmt.Errorf("oauth2d: client: %w", oauth2.ErrNotFound)
	}
	body, err := r.docs.GetDocument(ctx, docClient, id)
	if err != nil {
		return nil, fmt.Errorf("oauth2d: client: %w", err)
	}
	d, err := decodeClientDoc(body)
	if err == nil {
		err = r.cfg.validateManagedClient(d)
	}
	if err != nil {
		// Written by an older configuration (a grant since turned off):
		// refused as the start-up check would refuse it in the file.
		// Logged once per cache: the entry stays until a document changes.
		if _, loaded := cache.clients.LoadOrStore(id, &cachedClient{refused: true}); !loaded {
			r.log.Warn("a client kept in the store is not valid with this configuration; it is refused", "client_id", id, "err", err)
		}
		return nil, errRefusedClient
	}
	cc := d.config()
	c := &cachedClient{model: cc.model(), cfg: cc}
	// Into the cache read before the lookup: if the version changed
	// since, that cache is already dropped, and so is this entry.
	actual, _ := cache.clients.LoadOrStore(id, c)
	if c := actual.(*cachedClient); !c.refused {
		return c, nil
	}
	// Another request read an earlier document that was refused, and the
	// poll has not yet dropped that cache.
	return c, nil
}

// known reports whether id is a confidential client kept in the store,
// for the client throttle (throttle.GateConfig.Known).
func (r *clientRegistry) known(ctx context.Context, id string) bool {
	c, err := r.stored(ctx, id)
	return err == nil && !c.model.Public
}

// introspectAny reports whether the store client id may introspect any
// token (server.Config.IntrospectAny). It is asked once the client has
// authenticated, so the client is in the cache.
func (r *clientRegistry) introspectAny(ctx context.Context, id string) bool {
	c, err := r.stored(ctx, id)
	return err == nil && c.cfg.IntrospectAny && !c.cfg.Public
}

// refresh drops the cache when the DocumentsVersion of the clients
// changed.
func (r *clientRegistry) refresh(ctx context.Context) error {
	v, err := r.docs.DocumentsVersion(ctx, docClient)
	if err != nil {
		return err
	}
	if r.cache.Load().version != v {
		r.cache.Store(&clientCache{version: v})
	}
	return nil
}

// invalidate drops the cache at once: this process changed a document.
func (r *clientRegistry) invalidate() {
	r.cache.Store(&clientCache{version: r.cache.Load().version})
}

// openRegistry builds the registry of the YAML clients and finds the
// store's documents. A client or user of the store whose ID a YAML client
// or user has is a start-up error.
func (a *App) openRegistry(ctx context.Context) error {
	r := &clientRegistry{yaml: store.NewClientStore(), yamlIDs: map[string]*ClientConfig{}, cfg: &a.cfg, log: a.log}
	for i := range a.cfg.Clients {
		c := &a.cfg.Clients[i]
		if err := r.yaml.Set(c.ID, c.model()); err != nil {
			return fmt.Errorf("oauth2d: client %q: %w", c.ID, err)
		}
		r.yamlIDs[c.ID] = c
	}
	r.cache.Store(&clientCache{})
	a.clients = r
	docs, ok := a.rawStore.(oauth2.DocumentStore)
	if !ok {
		return nil
	}
	r.docs = docs
	v, err := docs.DocumentsVersion(ctx, docClient)
	if err != nil {
		return fmt.Errorf("oauth2d: read the store's documents: %w", err)
	}
	r.cache.Store(&clientCache{version: v})
	yamlUsers := map[string]bool{}
	for _, u := range a.cfg.Users {
		yamlUsers[u.Username] = true
	}
	var ps problems
	err = eachDocument(ctx, docs, docClient, func(d oauth2.Document) {
		if _, dup := r.yamlIDs[d.ID]; dup {
			ps.add("clients", "client %q is defined both in the configuration file and in the store: delete one of them (oauth2d clients delete, or the file)", d.ID)
		}
		if yamlUsers[d.ID] {
			ps.add("users", "user %q of the configuration file has the ID of a client kept in the store (RFC 9068 2.2)", d.ID)
		}
	})
	if err == nil {
		err = eachDocument(ctx, docs, docUser, func(d oauth2.Document) {
			if yamlUsers[d.ID] {
				ps.add("users", "user %q is defined both in the configuration file and in the store: delete one of them", d.ID)
			}
			if _, dup := r.yamlIDs[d.ID]; dup {
				ps.add("clients", "client %q of the configuration file has the username of a user kept in the store (RFC 9068 2.2)", d.ID)
			}
		})
	}
	if err == nil {
		err = eachDocument(ctx, docs, docClientDeleted, func(d oauth2.Document) {
			if _, dup := r.yamlIDs[d.ID]; dup {
				ps.add("clients", "client %q of the configuration file has the ID of a client deleted from the store: its users' tokens and consents would pass to it; choose another ID", d.ID)
			}
		})
	}
	if err != nil {
		return fmt.Errorf("oauth2d: read the store's documents: %w", err)
	}
	if err := ps.err(); err != nil {
		return err
	}
	go a.pollDocuments()
	return nil
}

// eachDocument calls fn with every document of kind, in pages.
func eachDocument(ctx context.Context, docs oauth2.DocumentStore, kind string, fn func(oauth2.Document)) error {
	after := ""
	for {
		page, err := docs.ListDocuments(ctx, kind, after, maxPageLimit)
		if err != nil {
			return err
		}
		for _, d := range page {
			fn(d)
		}
		if len(page) < maxPageLimit {
			return nil
		}
		after = page[len(page)-1].ID
	}
}

// pollDocuments reads the DocumentsVersion of the clients every
// documentsPoll until Close.
func (a *App) pollDocuments() {
	t := time.NewTicker(documentsPoll)
	defer t.Stop()
	failing := false
	for {
		select {
		case <-a.stop:
			return
		case <-t.C:
		}
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		err := a.clients.refresh(ctx)
		cancel()
		switch {
		case err != nil && !failing:
			a.log.Warn("clients of the store: cannot read their version; the cached clients are kept until it answers", "err", err)
			failing = true
		case err == nil && failing:
			a.log.Info("clients of the store: version read again")
			failing = false
		}
	}
}

// storeUser returns a user kept in the store, or an error wrapping
// oauth2.ErrNotFound.
func (a *App) storeUser(ctx context.Context, username string) (*userDoc, error) {
	docs := a.clients.docs
	if docs == nil || oauth2.CheckDocument(docUser, username, nil) != nil {
		return nil, fmt.Errorf("oauth2d: user: %w", oauth2.ErrNotFound)
	}
	body, err := docs.GetDocument(ctx, docUser, username)
	if err != nil {
		return nil, fmt.Errorf("oauth2d: user: %w", err)
	}
	return decodeUserDoc(body)
}

// storeUserPassword is the pages' lookup of a user the YAML file does not
// have (web.Users.SetFallback): the hash, and whether the user is
// disabled.
func (a *App) storeUserPassword(ctx context.Context, username string) (string, bool, error) {
	d, err := a.storeUser(ctx, username)
	if err != nil {
		return "", false, err
	}
	return d.PasswordHash, d.Disabled, nil
}

// withStoreUsers returns the claims lookup of the YAML users followed by
// the store's: a disabled user has no claims (its tokens are
// invalid_token at UserInfo).
func (a *App) withStoreUsers(yaml func(context.Context, string) (oidc.Claims, error)) func(context.Context, string) (oidc.Claims, error) {
	return func(ctx context.Context, username string) (oidc.Claims, error) {
		c, err := yaml(ctx, username)
		if err == nil || !stderrors.Is(err, oauth2.ErrNotFound) || a.clients.docs == nil {
			return c, err
		}
		d, err := a.storeUser(ctx, username)
		if err != nil {
			return oidc.Claims{}, err
		}
		if d.Disabled {
			return oidc.Claims{}, fmt.Errorf("oauth2d: user %q is disabled: %w", username, oauth2.ErrNotFound)
		}
		return d.claims()
	}
}

// inFile reports whether id is a client of the YAML file.
func (r *clientRegistry) inFile(id string) bool {
	_, ok := r.yamlIDs[id]
	return ok
}

// registered reports whether id is a client of the YAML file or of the
// store. An unknown ID costs one indexed lookup; a store failure is an
// error, not an answer.
func (r *clientRegistry) registered(ctx context.Context, id string) (bool, error) {
	if _, ok := r.yamlIDs[id]; ok {
		return true, nil
	}
	if _, err := r.stored(ctx, id); err != nil {
		if stderrors.Is(err, oauth2.ErrNotFound) {
			return false, nil
		}
		return false, err
	}
	return true, nil
}

// liveToken returns ti, or an error wrapping oauth2.ErrNotFound when the
// client ti was issued to is no longer registered: deleting a client
// (the admin API, RFC 7592 2.3, or the file) ends its opaque tokens at
// once, at introspection (RFC 7662 2.2), UserInfo and refresh, in every
// process within a second (the cache's poll).
func (r *clientRegistry) liveToken(ctx context.Context, ti oauth2.TokenInfo) (oauth2.TokenInfo, error) {
	ok, err := r.registered(ctx, ti.GetClientID())
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, fmt.Errorf("oauth2d: token of a client no longer registered: %w", oauth2.ErrNotFound)
	}
	return ti, nil
}

// GetByAccess returns the record of an access token whose client is still
// registered (liveToken).
func (s managerStore) GetByAccess(ctx context.Context, access string) (oauth2.TokenInfo, error) {
	ti, err := s.instrumentedStore.GetByAccess(ctx, access)
	if err != nil {
		return nil, err
	}
	return s.app.clients.liveToken(ctx, ti)
}

// GetByRefresh returns the record of a refresh token whose client is
// still registered (liveToken).
func (s managerStore) GetByRefresh(ctx context.Context, refresh string) (oauth2.TokenInfo, error) {
	ti, err := s.instrumentedStore.GetByRefresh(ctx, refresh)
	if err != nil {
		return nil, err
	}
	return s.app.clients.liveToken(ctx, ti)
}
