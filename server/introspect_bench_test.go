package server_test

import (
	"crypto/subtle"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// introspectionRequest returns a function that makes a fresh introspection
// request for token, with Basic authentication, from a template at the
// cost of a struct copy (as benchRequest does for the token endpoint).
func introspectionRequest(token string) func() *http.Request {
	body := "token=" + token + "&token_type_hint=access_token"
	tmpl := httptest.NewRequest(http.MethodPost, "/introspect", nil)
	tmpl.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	tmpl.SetBasicAuth(confID, confSecret)
	tmpl.ContentLength = int64(len(body))
	rb := &resettableBody{}
	return func() *http.Request {
		r := *tmpl
		rb.Reset(body)
		r.Body = rb
		return &r
	}
}

// bareRecord and bareIntrospection are the baseline's token record and
// answer (RFC 7662 2.2).
type bareRecord struct {
	clientID, scope, sub string
	iat, exp             int64
}

type bareIntrospection struct {
	Active    bool   `json:"active"`
	ClientID  string `json:"client_id,omitempty"`
	Exp       int64  `json:"exp,omitempty"`
	Iat       int64  `json:"iat,omitempty"`
	Scope     string `json:"scope,omitempty"`
	Sub       string `json:"sub,omitempty"`
	TokenType string `json:"token_type,omitempty"`
}

// bareIntrospector is the baseline: a bare net/http handler that parses
// the form, checks a Basic secret, looks the token up in a map and writes
// the JSON answer.
type bareIntrospector struct {
	mu     sync.RWMutex
	tokens map[string]bareRecord
}

func newBareIntrospector(token string) *bareIntrospector {
	now := time.Now().Unix()
	return &bareIntrospector{tokens: map[string]bareRecord{
		token: {clientID: confID, scope: "read", iat: now, exp: now + 7200},
	}}
}

func (bi *bareIntrospector) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost || r.ParseForm() != nil {
		http.Error(w, `{"error":"invalid_request"}`, http.StatusBadRequest)
		return
	}
	id, secret, ok := r.BasicAuth()
	if !ok || id != confID || subtle.ConstantTimeCompare([]byte(secret), []byte(confSecret)) != 1 {
		http.Error(w, `{"error":"invalid_client"}`, http.StatusUnauthorized)
		return
	}
	bi.mu.RLock()
	rec, found := bi.tokens[r.PostForm.Get("token")]
	bi.mu.RUnlock()
	resp := bareIntrospection{}
	if found && rec.clientID == id && time.Now().Unix() < rec.exp {
		resp = bareIntrospection{Active: true, ClientID: rec.clientID, Exp: rec.exp, Iat: rec.iat,
			Scope: rec.scope, Sub: rec.sub, TokenType: "Bearer"}
	}
	h := w.Header()
	h.Set("Content-Type", "application/json;charset=UTF-8")
	h.Set("Cache-Control", "no-store")
	h.Set("Pragma", "no-cache")
	_ = json.NewEncoder(w).Encode(resp)
}

// introspectionBench returns the library's introspection handler over the
// memory store, and a request factory for an active client credentials
// token, checking first that the answer is active.
func introspectionBench(b *testing.B) (http.HandlerFunc, func() *http.Request, string) {
	e := newEnv(b)
	// The memory store itself, without the test's counting wrapper.
	e.mgr.MapTokenStorage(e.tokens.TokenStore)
	token := e.ccToken(b, confID)
	h := func(w http.ResponseWriter, r *http.Request) { _ = e.srv.HandleIntrospectionRequest(w, r) }
	next := introspectionRequest(token)
	w := httptest.NewRecorder()
	h(w, next())
	if w.Code != http.StatusOK || w.Body.Len() < 40 {
		b.Fatalf("introspection: %d %s", w.Code, w.Body)
	}
	return h, next, token
}

func benchIntrospect(b *testing.B, h http.HandlerFunc, token string) {
	b.Run("plain", func(b *testing.B) {
		next := introspectionRequest(token)
		b.ReportAllocs()
		for b.Loop() {
			w := httptest.NewRecorder()
			h(w, next())
			if w.Code != http.StatusOK {
				b.Fatalf("status %d: %s", w.Code, w.Body)
			}
		}
	})
	b.Run("parallel", func(b *testing.B) {
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			next := introspectionRequest(token)
			for pb.Next() {
				w := httptest.NewRecorder()
				h(w, next())
				if w.Code != http.StatusOK {
					b.Errorf("status %d: %s", w.Code, w.Body)
					return
				}
			}
		})
	})
}

func BenchmarkIntrospection(b *testing.B) {
	h, _, token := introspectionBench(b)
	benchIntrospect(b, h, token)
}

func BenchmarkIntrospectionBare(b *testing.B) {
	const token = "bare-opaque-token-0123456789abcdefghijklmnopq"
	benchIntrospect(b, newBareIntrospector(token).ServeHTTP, token)
}

// BenchmarkIntrospection_VsBare alternates batches of the bare handler and
// the introspection endpoint, so that both see the same machine load, and
// reports the endpoint's rate relative to the bare handler's (the project
// target is at least 0.85).
func BenchmarkIntrospection_VsBare(b *testing.B) {
	ours, _, token := introspectionBench(b)
	bare := newBareIntrospector(token).ServeHTTP
	b.Run("plain", func(b *testing.B) {
		next := introspectionRequest(token)
		var bareT, srvT time.Duration
		for b.Loop() {
			bareT += run(b, next, bare)
			srvT += run(b, next, ours)
		}
		reportRatio(b, b.N, bareT, srvT)
	})
	b.Run("parallel", func(b *testing.B) {
		var bareT, srvT, n atomic.Int64
		b.RunParallel(func(pb *testing.PB) {
			next := introspectionRequest(token)
			for pb.Next() {
				bareT.Add(int64(run(b, next, bare)))
				srvT.Add(int64(run(b, next, ours)))
				n.Add(1)
			}
		})
		reportRatio(b, int(n.Load()), time.Duration(bareT.Load()), time.Duration(srvT.Load()))
	})
}
