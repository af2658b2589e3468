// Package jwksfetch fetches the JWK Set a client publishes at its jwks_uri
// (RFC 7591 2), whose keys verify its private_key_jwt assertions (RFC 7523
// 2.2, OpenID Connect Core 9), without letting the client make the server
// a tool against its own network: https only, no redirects, no
// credentials, a timeout and a size limit, and no connection to loopback,
// private, link-local or other special addresses, checked on the resolved
// address at dial time (docs/architecture.md section 3).
//
// Fetched sets are cached per URI for a TTL, in a bounded number of
// entries; a key ID the cached set does not hold refreshes it at most once
// per RefreshInterval, and concurrent fetches of one URI are one request.
package jwksfetch

import (
	"context"
	"crypto/tls"
	"encoding/json"
	stderrors "errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sync"
	"time"

	"github.com/go-jose/go-jose/v4"
)

// Defaults of Config.
const (
	DefaultTimeout         = 5 * time.Second
	DefaultMaxBytes        = 64 << 10
	DefaultTTL             = 5 * time.Minute
	DefaultMaxEntries      = 1000
	DefaultRefreshInterval = 30 * time.Second
)

// Errors of a fetch, besides those of CheckURI and Parse.
var (
	// ErrTooLarge matches the error of a response larger than MaxBytes.
	ErrTooLarge = stderrors.New("jwksfetch: JWK Set too large")
	// ErrStatus matches the error of a response other than 200 OK,
	// redirects included (they are never followed).
	ErrStatus = stderrors.New("jwksfetch: jwks_uri did not answer 200 OK")
	// ErrFetch matches the error of a request that failed: refused
	// address, connection, TLS, timeout.
	ErrFetch = stderrors.New("jwksfetch: cannot fetch jwks_uri")
)

// Config configures a Fetcher; zero fields take the defaults.
type Config struct {
	// Timeout bounds one fetch, connection and body included.
	Timeout time.Duration
	// MaxBytes is the largest JWK Set accepted; a larger one is refused.
	MaxBytes int64
	// TTL is how long a fetched set is used without fetching it again.
	TTL time.Duration
	// MaxEntries bounds the number of URIs cached; the entry fetched
	// longest ago makes room for a new one.
	MaxEntries int
	// RefreshInterval is the shortest time between two fetches of one URI
	// for a key ID it lacked, or after a failure: a stranger sending
	// assertions with made-up key IDs cannot make the server fetch in a
	// loop.
	RefreshInterval time.Duration
	// AllowPrivate allows http and every address, loopback and private
	// ones included: for tests and development only.
	AllowPrivate bool
	// TLS, when set, is the TLS configuration of the fetches (its RootCAs
	// for a private certificate authority).
	TLS *tls.Config
	// Now is the clock; nil is time.Now.
	Now func() time.Time
	// FetchFailed, when set, is told of every failed fetch of Get (at
	// most one per URI per RefreshInterval), for the operator's log.
	FetchFailed func(uri string, err error)
}

// Fetcher fetches and caches JWK Sets. It is safe for concurrent use.
type Fetcher struct {
	cfg    Config
	client *http.Client

	mu      sync.Mutex
	entries map[string]*entry
}

// entry is the cache of one URI.
type entry struct {
	raw       []byte // the set's public keys as JSON, nil before a success
	kids      map[string]bool
	fetched   time.Time // of raw
	attempted time.Time // of the last fetch, successful or not
	err       error     // of the last fetch when it failed
	flight    chan struct{}
}

// New returns a Fetcher.
func New(cfg Config) *Fetcher {
	if cfg.Timeout <= 0 {
		cfg.Timeout = DefaultTimeout
	}
	if cfg.MaxBytes <= 0 {
		cfg.MaxBytes = DefaultMaxBytes
	}
	if cfg.TTL <= 0 {
		cfg.TTL = DefaultTTL
	}
	if cfg.MaxEntries <= 0 {
		cfg.MaxEntries = DefaultMaxEntries
	}
	if cfg.RefreshInterval <= 0 {
		cfg.RefreshInterval = DefaultRefreshInterval
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	tr := &http.Transport{
		// No proxy: the address dialled must be the one checked.
		Proxy:                  nil,
		DialContext:            newDialer(cfg).DialContext,
		TLSClientConfig:        cfg.TLS,
		TLSHandshakeTimeout:    cfg.Timeout,
		ResponseHeaderTimeout:  cfg.Timeout,
		MaxResponseHeaderBytes: 16 << 10,
		IdleConnTimeout:        30 * time.Second,
		MaxIdleConnsPerHost:    1,
		ForceAttemptHTTP2:      true,
	}
	return &Fetcher{
		cfg: cfg,
		client: &http.Client{
			Transport: tr,
			Timeout:   cfg.Timeout,
			// RFC 7591 2 names one URL: a redirect elsewhere is not it,
			// and following one would dial an address not checked here.
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		},
		entries: map[string]*entry{},
	}
}

// AllowsPrivate reports whether the fetcher reaches private addresses.
func (f *Fetcher) AllowsPrivate() bool { return f.cfg.AllowPrivate }

// CheckURI checks the form of uri as CheckURI does with the fetcher's
// AllowPrivate.
func (f *Fetcher) CheckURI(uri string) error {
	_, err := CheckURI(uri, f.cfg.AllowPrivate)
	return err
}

// Fetch fetches the set at uri now, bypassing the cache, and returns it
// parsed: what a registration does once to check a client's jwks_uri.
func (f *Fetcher) Fetch(ctx context.Context, uri string) (*jose.JSONWebKeySet, error) {
	if _, err := CheckURI(uri, f.cfg.AllowPrivate); err != nil {
		return nil, err
	}
	return f.fetch(ctx, uri)
}

// Get returns the set at uri as JSON ({"keys":[...]}, public keys only),
// from the cache while it is younger than TTL. When kid is not "" and the
// cached set has no key of that ID, the set is fetched again unless the
// last fetch of uri is younger than RefreshInterval. A failed fetch is
// remembered for RefreshInterval too; when it was a refresh of a set still
// within its TTL, that set is returned.
func (f *Fetcher) Get(ctx context.Context, uri, kid string) ([]byte, error) {
	if _, err := CheckURI(uri, f.cfg.AllowPrivate); err != nil {
		return nil, err
	}
	for {
		f.mu.Lock()
		e := f.entries[uri]
		now := f.cfg.Now()
		if e == nil {
			e = &entry{}
			f.insert(uri, e)
		}
		fresh := e.raw != nil && now.Sub(e.fetched) < f.cfg.TTL
		recent := !e.attempted.IsZero() && now.Sub(e.attempted) < f.cfg.RefreshInterval
		if fresh && (kid == "" || e.kids[kid]) {
			raw := e.raw
			f.mu.Unlock()
			return raw, nil
		}
		if e.flight == nil {
			switch {
			case fresh && recent:
				raw := e.raw
				f.mu.Unlock()
				return raw, nil
			case !fresh && recent && e.err != nil:
				err := e.err
				f.mu.Unlock()
				return nil, err
			}
			e.flight = make(chan struct{})
			e.attempted = now
			f.mu.Unlock()
			f.refresh(ctx, uri, e)
			continue
		}
		flight := e.flight
		f.mu.Unlock()
		select {
		case <-flight:
		case <-ctx.Done():
			return nil, fmt.Errorf("%w: %w", ErrFetch, ctx.Err())
		}
		// Whatever the flight found answers this caller too: fetching
		// again for it would defeat RefreshInterval.
		f.mu.Lock()
		raw, err := e.raw, e.err
		fresh = raw != nil && f.cfg.Now().Sub(e.fetched) < f.cfg.TTL
		f.mu.Unlock()
		if fresh {
			return raw, nil
		}
		if err == nil {
			err = ErrFetch
		}
		return nil, err
	}
}

// refresh fetches uri for e, whose flight the caller started, and records
// the outcome. The fetch outlives the caller's cancellation (other callers
// may wait for it) but not Timeout.
func (f *Fetcher) refresh(ctx context.Context, uri string, e *entry) {
	set, err := f.fetch(context.WithoutCancel(ctx), uri)
	var raw []byte
	if err == nil {
		raw, err = json.Marshal(set)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if err == nil {
		e.raw, e.err, e.fetched = raw, nil, f.cfg.Now()
		e.kids = make(map[string]bool, len(set.Keys))
		for _, k := range set.Keys {
			e.kids[k.KeyID] = true
		}
	} else {
		e.err = err
	}
	close(e.flight)
	e.flight = nil
	if err != nil && f.cfg.FetchFailed != nil {
		go f.cfg.FetchFailed(uri, err)
	}
}

// insert adds e under uri, first removing the entry fetched longest ago
// when the cache is full. The caller holds f.mu.
func (f *Fetcher) insert(uri string, e *entry) {
	if len(f.entries) >= f.cfg.MaxEntries {
		var oldest string
		var at time.Time
		for u, o := range f.entries {
			if o.flight != nil {
				continue
			}
			t := o.fetched
			if t.IsZero() {
				t = o.attempted
			}
			if oldest == "" || t.Before(at) {
				oldest, at = u, t
			}
		}
		if oldest != "" {
			delete(f.entries, oldest)
		}
	}
	f.entries[uri] = e
}

// Len returns the number of URIs cached.
func (f *Fetcher) Len() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.entries)
}

// fetch makes one GET request for uri and parses the answer.
func (f *Fetcher) fetch(ctx context.Context, uri string) (*jose.JSONWebKeySet, error) {
	ctx, cancel := context.WithTimeout(ctx, f.cfg.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, uri, nil)
	if err != nil {
		return nil, ErrBadURI
	}
	req.Header.Set("Accept", "application/jwk-set+json, application/json")
	resp, err := f.client.Do(req)
	if err != nil {
		if stderrors.Is(err, ErrForbiddenAddress) {
			return nil, fmt.Errorf("%w: %w", ErrFetch, ErrForbiddenAddress)
		}
		return nil, fmt.Errorf("%w: %w", ErrFetch, unwrapURLError(err))
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("%w: %d", ErrStatus, resp.StatusCode)
	}
	if resp.ContentLength > f.cfg.MaxBytes {
		return nil, ErrTooLarge
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, f.cfg.MaxBytes+1))
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrFetch, unwrapURLError(err))
	}
	if int64(len(body)) > f.cfg.MaxBytes {
		return nil, ErrTooLarge
	}
	return Parse(body)
}

// unwrapURLError drops the *url.Error around err, whose text repeats the
// URL: the caller's error names what failed without it.
func unwrapURLError(err error) error {
	var ue *url.Error
	if stderrors.As(err, &ue) {
		return ue.Err
	}
	return err
}
