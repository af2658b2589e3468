package loadserver_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/oauth2d/oauth2/bench/internal/loadgen"
	"github.com/oauth2d/oauth2/bench/internal/loadserver"
)

func start(t *testing.T, mode string, preload int) *httptest.Server {
	t.Helper()
	s, err := loadserver.New(context.Background(), mode, preload)
	if errors.Is(err, loadserver.ErrNoEngine) {
		t.Skipf("New(%s): %v (the store tests' variable, as in CI)", mode, err)
	}
	if err != nil {
		t.Fatalf("New(%s): %v", mode, err)
	}
	if s.Report != nil {
		t.Cleanup(func() { t.Logf("%s: %s", mode, s.Report()) })
	}
	ts := httptest.NewServer(s.Handler)
	t.Cleanup(func() {
		ts.Close()
		if err := s.Close(); err != nil {
			t.Error(err)
		}
	})
	return ts
}

func TestLoadgen_RunsOneSecondAgainstBareModeWithoutErrors(t *testing.T) {
	ts := start(t, loadserver.Bare, 0)
	cfg := loadgen.DefaultConfig()
	cfg.Addr = strings.TrimPrefix(ts.URL, "http://")
	cfg.Conns = 4
	cfg.Duration = time.Second
	started := time.Now()
	res, err := loadgen.Run(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if took := time.Since(started); took > 3*time.Second {
		t.Fatalf("a 1s run took %s: the run is not bounded", took)
	}
	if res.Errors != 0 {
		t.Fatalf("errors: %s", res.ErrorSummary())
	}
	if res.Requests < 100 || res.P50 <= 0 || res.P99 < res.P50 || res.RPS() <= 0 {
		t.Fatalf("implausible result %s", res)
	}
}

// tokenRequest posts a client credentials request with client_secret_basic.
func tokenRequest(t *testing.T, base, secret string) (int, map[string]any) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, base+"/token", strings.NewReader("grant_type=client_credentials&scope=read"))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(loadserver.ClientID, secret)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, body
}

func TestModes_IssueTokensToTheBenchmarkClientOnly(t *testing.T) {
	for _, mode := range loadserver.Modes {
		if loadserver.IsCodeMode(mode) {
			continue // TestCodeModes_ExchangeEachCodeOnceForAnIDToken
		}
		t.Run(mode, func(t *testing.T) {
			ts := start(t, mode, 0)
			status, body := tokenRequest(t, ts.URL, loadserver.ClientSecret)
			if status != http.StatusOK || body["access_token"] == "" || body["token_type"] != "Bearer" {
				t.Fatalf("right secret: %d %v", status, body)
			}
			if strings.HasSuffix(mode, "256") || strings.HasSuffix(mode, "eddsa") {
				if n := strings.Count(body["access_token"].(string), "."); n != 2 {
					t.Fatalf("a signing mode issued a token that is not a JWS (%d dots)", n)
				}
			}
			status, body = tokenRequest(t, ts.URL, "wrong")
			if status != http.StatusUnauthorized || body["error"] != "invalid_client" {
				t.Fatalf("wrong secret: %d %v, want 401 invalid_client", status, body)
			}
		})
	}
}

func TestIntrospectModes_AnswerActiveForAnIssuedTokenOnly(t *testing.T) {
	for _, mode := range []string{loadserver.IntrospectBare, loadserver.Introspect} {
		t.Run(mode, func(t *testing.T) {
			ts := start(t, mode, 10)
			_, body := tokenRequest(t, ts.URL, loadserver.ClientSecret)
			issued, _ := body["access_token"].(string)
			for token, want := range map[string]bool{issued: true, "never-issued": false} {
				req, _ := http.NewRequest(http.MethodPost, ts.URL+"/introspect",
					strings.NewReader(url.Values{"token": {token}, "token_type_hint": {"access_token"}}.Encode()))
				req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
				req.SetBasicAuth(loadserver.ClientID, loadserver.ClientSecret)
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				var got map[string]any
				err = json.NewDecoder(resp.Body).Decode(&got)
				resp.Body.Close()
				if err != nil || resp.StatusCode != http.StatusOK || got["active"] != want {
					t.Fatalf("introspect (issued=%v): %d %v %v, want active=%v (RFC 7662 2.2)", want, resp.StatusCode, got, err, want)
				}
				if want && (got["client_id"] != loadserver.ClientID || got["scope"] != "read") {
					t.Fatalf("active token described as %v", got)
				}
			}
		})
	}
}

func TestNew_RefusesUnknownModesAndPreloadWithoutStore(t *testing.T) {
	tests := []struct {
		name    string
		mode    string
		preload int
		wantErr error
	}{
		{"unknown mode", "fast", 0, loadserver.ErrUnknownMode},
		{"bare keeps no tokens to preload", loadserver.Bare, 10, loadserver.ErrNoStore},
		{"bare-eddsa keeps no tokens to preload", loadserver.BareEdDSA, 10, loadserver.ErrNoStore},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := loadserver.New(context.Background(), tt.mode, tt.preload); !errors.Is(err, tt.wantErr) {
				t.Fatalf("New = %v, want %v", err, tt.wantErr)
			}
		})
	}
}

func TestPreload_IssuesThroughTheHandlerAndStopsAtTheFirstRefusal(t *testing.T) {
	var calls atomic.Int64
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		user, pass, _ := r.BasicAuth()
		if calls.Add(1) > 50 || r.Method != http.MethodPost || r.URL.Path != "/token" ||
			user != loadserver.ClientID || pass != loadserver.ClientSecret || r.PostFormValue("grant_type") != "client_credentials" {
			http.Error(w, `{"error":"invalid_client"}`, http.StatusUnauthorized)
			return
		}
		w.Write([]byte(`{"access_token":"x"}`))
	})
	if err := loadserver.Preload(context.Background(), h, 50); err != nil {
		t.Fatalf("Preload(50) = %v", err)
	}
	if calls.Load() != 50 {
		t.Fatalf("Preload(50) made %d requests", calls.Load())
	}
	if err := loadserver.Preload(context.Background(), h, 10); !errors.Is(err, loadserver.ErrPreload) {
		t.Fatalf("Preload against a refusing handler = %v, want ErrPreload", err)
	}
	s, err := loadserver.New(context.Background(), loadserver.Library, 1000)
	if err != nil {
		t.Fatalf("New(library, preload 1000) = %v", err)
	}
	s.Close()
}

// TestDPoPModes_RunWithoutErrors: the load generator's token-dpop requests,
// a fresh proof each, are all answered 200 by both DPoP modes; a request
// without a proof is refused by the bare baseline.
func TestDPoPModes_RunWithoutErrors(t *testing.T) {
	for _, mode := range loadserver.DPoPModes {
		t.Run(mode, func(t *testing.T) {
			ts := start(t, mode, 0)
			cfg := loadgen.DefaultConfig()
			cfg.Addr = strings.TrimPrefix(ts.URL, "http://")
			cfg.Mode = loadgen.ModeTokenDPoP
			cfg.Conns = 2
			cfg.Duration = 500 * time.Millisecond
			res, err := loadgen.Run(context.Background(), cfg)
			if err != nil {
				t.Fatal(err)
			}
			if res.Errors != 0 || res.Requests < 10 {
				t.Fatalf("%s: %s", res, res.ErrorSummary())
			}
			if mode == loadserver.BareDPoP {
				if status, body := tokenRequest(t, ts.URL, loadserver.ClientSecret); status != http.StatusBadRequest || body["error"] != "invalid_dpop_proof" {
					t.Fatalf("without a proof: %d %v", status, body)
				}
			}
		})
	}
}

// The OpenID Connect modes answer each code of their pool once with an ID
// token, and refuse a replay, a wrong verifier and a wrong secret; the
// load generator's code mode drives them without errors.
func TestCodeModes_ExchangeEachCodeOnceForAnIDToken(t *testing.T) {
	for _, mode := range []string{loadserver.BareOIDCES256, loadserver.LibraryOIDCES256, loadserver.BareOIDCRS256, loadserver.LibraryOIDCRS256} {
		t.Run(mode, func(t *testing.T) {
			const pool = 5000
			ts := start(t, mode, pool)
			exchange := func(code, verifier, secret string) (int, map[string]any) {
				form := url.Values{"grant_type": {"authorization_code"}, "code": {code},
					"redirect_uri": {loadgen.CodeRedirectURI}, "code_verifier": {verifier}}
				req, _ := http.NewRequest(http.MethodPost, ts.URL+"/token", strings.NewReader(form.Encode()))
				req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
				req.SetBasicAuth(loadserver.ClientID, secret)
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				defer resp.Body.Close()
				var body map[string]any
				if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
					t.Fatal(err)
				}
				return resp.StatusCode, body
			}
			if status, body := exchange(loadgen.Code(pool-1), loadgen.CodeVerifier, loadserver.ClientSecret); status != http.StatusOK ||
				strings.Count(fmt.Sprint(body["id_token"]), ".") != 2 || body["refresh_token"] == nil {
				t.Fatalf("exchange: %d %v", status, body)
			}
			for name, tc := range map[string][3]string{
				"replay":         {loadgen.Code(pool - 1), loadgen.CodeVerifier, loadserver.ClientSecret},
				"wrong verifier": {loadgen.Code(pool - 2), strings.Repeat("x", 43), loadserver.ClientSecret},
				"wrong secret":   {loadgen.Code(pool - 3), loadgen.CodeVerifier, "wrong"},
				"unknown code":   {"bench-code-x", loadgen.CodeVerifier, loadserver.ClientSecret},
			} {
				if status, body := exchange(tc[0], tc[1], tc[2]); status == http.StatusOK || body["id_token"] != nil {
					t.Fatalf("%s: %d %v", name, status, body)
				}
			}
			cfg := loadgen.DefaultConfig()
			cfg.Addr = strings.TrimPrefix(ts.URL, "http://")
			cfg.Mode = loadgen.ModeCode
			cfg.Conns = 2
			cfg.Duration = 100 * time.Millisecond
			res, err := loadgen.Run(context.Background(), cfg)
			if err != nil || res.Errors != 0 || res.Requests == 0 {
				t.Fatalf("loadgen code mode: %v %s %s", err, res, res.ErrorSummary())
			}
		})
	}
}
