package oauth2d

import (
	"encoding/base64"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"testing/iotest"
)

func TestPeekTokenForm_ServerReadsTheBodyAsItCame(t *testing.T) {
	const limit = 64
	small := "grant_type=client_credentials&scope=read"
	large := "grant_type=client_credentials&scope=" + strings.Repeat("x", 200)
	tests := []struct {
		name, contentType, body string
		slow                    bool
		wantParams              bool
	}{
		{"small form", "application/x-www-form-urlencoded", small, false, true},
		{"small form read one byte at a time", "application/x-www-form-urlencoded; charset=UTF-8", small, true, true},
		{"exactly the limit", "application/x-www-form-urlencoded", small + strings.Repeat("y", limit-len(small)), false, true},
		{"larger than the limit", "application/x-www-form-urlencoded", large, false, false},
		{"not a form", "application/json", `{"grant_type":"client_credentials"}`, false, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var body io.Reader = strings.NewReader(tt.body)
			if tt.slow {
				body = iotest.OneByteReader(body)
			}
			r := httptest.NewRequest(http.MethodPost, "/token", body)
			r.Header.Set("Content-Type", tt.contentType)
			pb := peekTokenForm(r, limit)
			defer pb.release()
			if got := pb.params.get("grant_type") == "client_credentials"; got != tt.wantParams {
				t.Errorf("grant_type read ahead: %v, want %v", got, tt.wantParams)
			}
			got, err := io.ReadAll(r.Body)
			if err != nil || string(got) != tt.body {
				t.Fatalf("the body reads %q (%v), want %q", got, err, tt.body)
			}
			if err := r.Body.Close(); err != nil {
				t.Fatal(err)
			}
		})
	}
}

func TestPeekTokenForm_ReadErrorReachesTheServer(t *testing.T) {
	broken := io.MultiReader(strings.NewReader("grant_type=x"), iotest.ErrReader(io.ErrUnexpectedEOF))
	r := httptest.NewRequest(http.MethodPost, "/token", broken)
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	pb := peekTokenForm(r, 1024)
	defer pb.release()
	if got, err := io.ReadAll(r.Body); err != io.ErrUnexpectedEOF || string(got) != "grant_type=x" {
		t.Fatalf("the server reads %q, %v; want what came and the read error", got, err)
	}
}

func TestTokenClientID_FindsTheClaimedClient(t *testing.T) {
	basic := func(raw string) string { return "Basic " + base64.StdEncoding.EncodeToString([]byte(raw)) }
	assertion := "eyJhbGciOiJFUzI1NiJ9." + base64.RawURLEncoding.EncodeToString([]byte(`{"iss":"svc","sub":"svc-sub"}`)) + ".sig"
	tests := []struct {
		name, auth, body, want string
	}{
		{"basic", basic("000000:999999"), "", "000000"},
		{"basic, form-encoded id", basic("a%3Ab+c:secret"), "", "a:b c"},
		{"basic, lowercase scheme", "basic " + base64.StdEncoding.EncodeToString([]byte("x:y")), "", "x"},
		{"basic longer than the scratch space", basic(strings.Repeat("i", 150) + ":" + strings.Repeat("s", 150)), "", strings.Repeat("i", 150)},
		{"basic that does not decode, then the form", "Basic !!!", "client_id=form-id", "form-id"},
		{"form client_id", "", "grant_type=x&client_id=form-id", "form-id"},
		{"form client_id, encoded", "", "client_id=a%2Bb", "a+b"},
		{"assertion subject", "", "client_assertion=" + url.QueryEscape(assertion), "svc-sub"},
		{"nothing", "", "grant_type=client_credentials", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest(http.MethodPost, "/token", strings.NewReader(tt.body))
			r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			if tt.auth != "" {
				r.Header.Set("Authorization", tt.auth)
			}
			pb := peekTokenForm(r, 4096)
			defer pb.release()
			if got := string(tokenClientID(r, pb)); got != tt.want {
				t.Fatalf("client_id %q, want %q", got, tt.want)
			}
		})
	}
}

func TestGrantLabel_BoundsTheLabelToKnownGrants(t *testing.T) {
	tests := []struct{ body, want string }{
		{"grant_type=client_credentials", "client_credentials"},
		{"grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Adevice_code", "device_code"},
		{"grant_type=urn:ietf:params:oauth:grant-type:device_code", "device_code"},
		{"grant_type=refresh_token", "refresh_token"},
		{"grant_type=made-up", "other"},
		{"", "other"},
	}
	for _, tt := range tests {
		p := tokenParams{body: []byte(tt.body)}
		if got := p.grantLabel(); got != tt.want {
			t.Errorf("grantLabel(%q) = %q, want %q", tt.body, got, tt.want)
		}
	}
}

func TestServeClientEndpoint_AllocatesLittleMoreThanTheLibrary(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts are not meaningful with the race detector, which drops pooled objects")
	}
	cfg := Default()
	cfg.Store = "memory:"
	cfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	app, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer app.Close()
	lib := allocsPerTokenRequest(t, libraryHandler(t), DemoClientID, DemoClientSecret)
	got := allocsPerTokenRequest(t, app.Handler(), DemoClientID, DemoClientSecret)
	// The app's routing, log line, metrics, throttle and body peek
	// allocate nothing (one allowed for a pooled object lost to a GC).
	if got > lib+1 {
		t.Fatalf("%.0f allocations per token request; the library's handler makes %.0f", got, lib)
	}
}
