package server_test

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

const benchBody = "grant_type=client_credentials&scope=read"

// benchRequest returns a function that makes a fresh client_credentials
// request with Basic authentication from a template, at the cost of a
// struct copy, so that both benchmarks measure their handler and not
// request construction.
func benchRequest() func() *http.Request {
	tmpl := httptest.NewRequest(http.MethodPost, "/token", nil)
	tmpl.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	tmpl.SetBasicAuth(confID, confSecret)
	tmpl.ContentLength = int64(len(benchBody))
	body := &resettableBody{}
	return func() *http.Request {
		r := *tmpl
		body.Reset(benchBody)
		r.Body = body
		return &r
	}
}

type resettableBody struct{ strings.Reader }

func (*resettableBody) Close() error { return nil }

// bareHandler is the baseline: a bare net/http handler that parses the
// form, checks a Basic secret, makes 32 random bytes and writes the JSON.
func bareHandler(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil || r.PostForm.Get("grant_type") != "client_credentials" {
		http.Error(w, `{"error":"invalid_request"}`, http.StatusBadRequest)
		return
	}
	id, secret, ok := r.BasicAuth()
	if !ok || id != confID || subtle.ConstantTimeCompare([]byte(secret), []byte(confSecret)) != 1 {
		http.Error(w, `{"error":"invalid_client"}`, http.StatusUnauthorized)
		return
	}
	var b [32]byte
	_, _ = rand.Read(b[:])
	h := w.Header()
	h.Set("Content-Type", "application/json;charset=UTF-8")
	h.Set("Cache-Control", "no-store")
	h.Set("Pragma", "no-cache")
	_ = json.NewEncoder(w).Encode(map[string]any{
		"access_token": base64.RawURLEncoding.EncodeToString(b[:]),
		"token_type":   "Bearer",
		"expires_in":   7200,
		"scope":        r.PostForm.Get("scope"),
	})
}

func benchHandler(b *testing.B, h http.HandlerFunc) {
	b.Run("plain", func(b *testing.B) {
		next := benchRequest()
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
			next := benchRequest()
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

func BenchmarkBareHandler(b *testing.B) {
	benchHandler(b, bareHandler)
}

func BenchmarkTokenEndpoint_ClientCredentials(b *testing.B) {
	e := newEnv(b)
	// The memory store itself, without the test's counting wrapper.
	e.mgr.MapTokenStorage(e.tokens.TokenStore)
	benchHandler(b, func(w http.ResponseWriter, r *http.Request) {
		_ = e.srv.HandleTokenRequest(w, r)
	})
}

// BenchmarkTokenEndpoint_VsBare alternates batches of the bare handler and
// the token endpoint, so that both see the same machine load, and reports
// the token endpoint's rate relative to the bare handler's (the project
// target is at least 0.8).
func BenchmarkTokenEndpoint_VsBare(b *testing.B) {
	e := newEnv(b)
	e.mgr.MapTokenStorage(e.tokens.TokenStore)
	ours := func(w http.ResponseWriter, r *http.Request) { _ = e.srv.HandleTokenRequest(w, r) }
	b.Run("plain", func(b *testing.B) {
		next := benchRequest()
		var bare, srv time.Duration
		for b.Loop() {
			bare += run(b, next, bareHandler)
			srv += run(b, next, ours)
		}
		reportRatio(b, b.N, bare, srv)
	})
	b.Run("parallel", func(b *testing.B) {
		var bare, srv atomic.Int64
		var n atomic.Int64
		b.RunParallel(func(pb *testing.PB) {
			next := benchRequest()
			for pb.Next() {
				bare.Add(int64(run(b, next, bareHandler)))
				srv.Add(int64(run(b, next, ours)))
				n.Add(1)
			}
		})
		reportRatio(b, int(n.Load()), time.Duration(bare.Load()), time.Duration(srv.Load()))
	})
}

const ratioBatch = 32

// run serves ratioBatch requests with h and returns the time taken.
func run(b *testing.B, next func() *http.Request, h http.HandlerFunc) time.Duration {
	start := time.Now()
	for range ratioBatch {
		w := httptest.NewRecorder()
		h(w, next())
		if w.Code != http.StatusOK {
			b.Errorf("status %d: %s", w.Code, w.Body)
		}
	}
	return time.Since(start)
}

func reportRatio(b *testing.B, iterations int, bare, srv time.Duration) {
	n := float64(iterations * ratioBatch)
	b.ReportMetric(float64(bare.Nanoseconds())/n, "bare-ns/req")
	b.ReportMetric(float64(srv.Nanoseconds())/n, "server-ns/req")
	b.ReportMetric(float64(bare)/float64(srv), "rate-ratio")
}
