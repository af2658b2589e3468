package server_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/oauth2d/oauth2"
	"github.com/oauth2d/oauth2/manage"
	"github.com/oauth2d/oauth2/models"
	"github.com/oauth2d/oauth2/server"
	"github.com/oauth2d/oauth2/store"
)

// Clients of the device grant tests.
const (
	tvID       = "tv"      // public, device grant and refresh, scopes read write
	tvConfID   = "tv-conf" // confidential, device grant only
	tvConfSec  = "tv-conf-secret-Pq7w"
	deviceUser = "alice"
)

// testClock is a settable clock shared by a server, its manager and its
// store.
type testClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *testClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

// deviceEnv is a server with the device grant on, over the real manager and
// memory stores sharing a settable clock.
type deviceEnv struct {
	*env
	clock *testClock
	kv    oauth2.KVStore
}

func newDeviceEnv(t testing.TB) *deviceEnv {
	t.Helper()
	clk := &testClock{now: time.Now().Truncate(time.Millisecond)}
	return newDeviceEnvClock(t, clk, clk.Now)
}

// newRealTimeDeviceEnv is a deviceEnv on the real clock, for tests that
// talk to a client over HTTP; its clock field is nil.
func newRealTimeDeviceEnv(t testing.TB) *deviceEnv {
	t.Helper()
	return newDeviceEnvClock(t, nil, time.Now)
}

func newDeviceEnvClock(t testing.TB, clk *testClock, now func() time.Time) *deviceEnv {
	t.Helper()
	ts, err := store.NewMemoryTokenStore(store.WithClock(now), store.WithSweepInterval(0))
	if err != nil {
		t.Fatal(err)
	}
	e := &env{t: t, tokens: &countingStore{TokenStore: ts}, clients: store.NewClientStore()}
	clients := append(testClients(),
		&models.Client{ID: tvID, Public: true, TokenEndpointAuthMethod: server.AuthMethodNone,
			GrantTypes: []oauth2.GrantType{oauth2.DeviceCode, oauth2.Refreshing}, Scopes: []string{"read", "write"}},
		&models.Client{ID: tvConfID, Secret: tvConfSec, GrantTypes: []oauth2.GrantType{oauth2.DeviceCode}},
	)
	for _, c := range clients {
		if err := e.clients.Set(c.ID, c); err != nil {
			t.Fatal(err)
		}
	}
	e.mgr = manage.NewDefaultManager()
	e.mgr.MapTokenStorage(e.tokens)
	e.mgr.MapClientStorage(e.clients)
	e.mgr.SetClock(now)
	e.srv = server.NewDefaultServer(e.mgr)
	e.srv.Config.Issuer = issuer
	e.srv.SetAllowedGrantType(oauth2.AuthorizationCode, oauth2.Refreshing, oauth2.ClientCredentials, oauth2.DeviceCode)
	e.srv.SetClock(now)
	kv := ts.(oauth2.KVStore)
	e.srv.SetKVStore(kv)
	return &deviceEnv{env: e, clock: clk, kv: kv}
}

// deviceAuth is a decoded device authorization response (RFC 8628 3.2).
type deviceAuth struct {
	DeviceCode              string `json:"device_code"`
	UserCode                string `json:"user_code"`
	VerificationURI         string `json:"verification_uri"`
	VerificationURIComplete string `json:"verification_uri_complete"`
	ExpiresIn               int64  `json:"expires_in"`
	Interval                int64  `json:"interval"`
}

// deviceRequest serves a device authorization request.
func (e *deviceEnv) deviceRequest(r *http.Request) (*httptest.ResponseRecorder, map[string]any) {
	e.t.Helper()
	w := httptest.NewRecorder()
	if err := e.srv.HandleDeviceAuthorizationRequest(w, r); err != nil {
		e.t.Fatalf("HandleDeviceAuthorizationRequest returned %v", err)
	}
	var data map[string]any
	if err := json.Unmarshal(w.Body.Bytes(), &data); err != nil {
		e.t.Fatalf("device authorization response is not JSON: %q", w.Body.String())
	}
	return w, data
}

// authorizeDevice runs a device authorization request for the public
// client tvID with scope and returns the answer.
func (e *deviceEnv) authorizeDevice(scope string) deviceAuth {
	e.t.Helper()
	v := url.Values{"client_id": {tvID}}
	if scope != "" {
		v.Set("scope", scope)
	}
	w := httptest.NewRecorder()
	if err := e.srv.HandleDeviceAuthorizationRequest(w, tokenReq{body: v.Encode()}.build()); err != nil {
		e.t.Fatal(err)
	}
	if w.Code != http.StatusOK {
		e.t.Fatalf("device authorization: %d %s", w.Code, w.Body.String())
	}
	var da deviceAuth
	if err := json.Unmarshal(w.Body.Bytes(), &da); err != nil {
		e.t.Fatal(err)
	}
	return da
}

// poll sends a device_code token request as clientID (public: client_id
// only; tvConfID: Basic).
func (e *deviceEnv) poll(clientID, deviceCode string) (*httptest.ResponseRecorder, map[string]any) {
	e.t.Helper()
	v := url.Values{"grant_type": {string(oauth2.DeviceCode)}}
	if deviceCode != "" {
		v.Set("device_code", deviceCode)
	}
	tr := tokenReq{}
	switch clientID {
	case tvConfID:
		tr.basic = basic(tvConfID, tvConfSec)
	case confID:
		tr.basic = basic(confID, confSecret)
	case limitedID:
		tr.basic = basic(limitedID, confSecret)
	default:
		v.Set("client_id", clientID)
	}
	tr.body = v.Encode()
	return e.token(tr.build())
}

// recordingKV is a KVStore that records every key and value written.
type recordingKV struct {
	oauth2.KVStore
	mu      sync.Mutex
	written []string
}

func (r *recordingKV) record(key string, value []byte) {
	r.mu.Lock()
	r.written = append(r.written, key, string(value))
	r.mu.Unlock()
}

func (r *recordingKV) Put(ctx context.Context, key string, value []byte, ttl time.Duration) error {
	r.record(key, value)
	return r.KVStore.Put(ctx, key, value, ttl)
}

func (r *recordingKV) PutIfAbsent(ctx context.Context, key string, value []byte, ttl time.Duration) (bool, error) {
	r.record(key, value)
	return r.KVStore.PutIfAbsent(ctx, key, value, ttl)
}

func (r *recordingKV) Incr(ctx context.Context, key string, ttl time.Duration) (int64, error) {
	r.record(key, nil)
	return r.KVStore.Incr(ctx, key, ttl)
}

// holds reports whether any written key or value contains s.
func (r *recordingKV) holds(s string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, w := range r.written {
		if strings.Contains(w, s) {
			return true
		}
	}
	return false
}
