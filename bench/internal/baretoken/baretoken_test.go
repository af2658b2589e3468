package baretoken

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"math/big"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
)

func post(h http.HandlerFunc, path, user, pass, body string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(http.MethodPost, path, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if user != "" {
		req.SetBasicAuth(url.QueryEscape(user), url.QueryEscape(pass))
	}
	rec := httptest.NewRecorder()
	h(rec, req)
	return rec
}

func TestServeToken_AuthenticatesAndIssues(t *testing.T) {
	h := New("000000", "999999")
	tests := []struct {
		name       string
		user, pass string
		body       string
		wantStatus int
		wantError  string
	}{
		{"client credentials with the right secret", "000000", "999999", "grant_type=client_credentials&scope=read", 200, ""},
		{"wrong secret is invalid_client (RFC 6749 5.2)", "000000", "999998", "grant_type=client_credentials", 401, "invalid_client"},
		{"unknown client is invalid_client", "000001", "999999", "grant_type=client_credentials", 401, "invalid_client"},
		{"no credentials is invalid_client", "", "", "grant_type=client_credentials", 401, "invalid_client"},
		{"other grant is unsupported_grant_type", "000000", "999999", "grant_type=password", 400, "unsupported_grant_type"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := post(h.ServeToken, "/token", tt.user, tt.pass, tt.body)
			if rec.Code != tt.wantStatus {
				t.Fatalf("status %d, want %d: %s", rec.Code, tt.wantStatus, rec.Body)
			}
			if rec.Header().Get("Cache-Control") != "no-store" {
				t.Fatal("missing Cache-Control: no-store (RFC 6749 5.1)")
			}
			var got map[string]any
			if err := json.Unmarshal(rec.Body.Bytes(), &got); err != nil {
				t.Fatal(err)
			}
			if tt.wantError != "" {
				if got["error"] != tt.wantError {
					t.Fatalf("error %v, want %s", got["error"], tt.wantError)
				}
				return
			}
			tok, _ := got["access_token"].(string)
			raw, err := base64.RawURLEncoding.DecodeString(tok)
			if err != nil || len(raw) != 32 {
				t.Fatalf("access_token is not 32 random bytes in base64url: %d bytes, %v", len(raw), err)
			}
			if got["token_type"] != "Bearer" || got["expires_in"] != float64(7200) {
				t.Fatalf("response %v", got)
			}
		})
	}
}

func TestServeToken_SignsAJWTShapedTokenOfAbout300Bytes(t *testing.T) {
	for _, alg := range []string{ES256, EdDSA, RS256} {
		t.Run(alg, func(t *testing.T) {
			key, err := GenerateKey(alg)
			if err != nil {
				t.Fatal(err)
			}
			sg, err := NewSignerWithKey(alg, key)
			if err != nil {
				t.Fatal(err)
			}
			h := New("000000", "999999", WithSigner(sg))
			rec := post(h.ServeToken, "/token", "000000", "999999", "grant_type=client_credentials&scope=read")
			var got struct {
				AccessToken string `json:"access_token"`
			}
			if err := json.Unmarshal(rec.Body.Bytes(), &got); err != nil || rec.Code != 200 {
				t.Fatalf("status %d: %v", rec.Code, err)
			}
			i := strings.LastIndexByte(got.AccessToken, '.')
			input, sigB64 := got.AccessToken[:i], got.AccessToken[i+1:]
			if len(input) < 250 || len(input) > 400 {
				t.Fatalf("signing input is %d bytes, want about 300", len(input))
			}
			sig, err := base64.RawURLEncoding.DecodeString(sigB64)
			if err != nil {
				t.Fatal(err)
			}
			sum := sha256.Sum256([]byte(input))
			var ok bool
			switch pub := key.Public().(type) {
			case *ecdsa.PublicKey:
				r, s := new(big.Int).SetBytes(sig[:32]), new(big.Int).SetBytes(sig[32:])
				ok = len(sig) == 64 && ecdsa.Verify(pub, sum[:], r, s)
			case ed25519.PublicKey:
				ok = ed25519.Verify(pub, []byte(input), sig)
			case *rsa.PublicKey:
				ok = rsa.VerifyPKCS1v15(pub, crypto.SHA256, sum[:], sig) == nil
			}
			if !ok {
				t.Fatal("signature does not verify")
			}
			hdr, _ := base64.RawURLEncoding.DecodeString(input[:strings.IndexByte(input, '.')])
			if !strings.Contains(string(hdr), `"alg":"`+alg+`"`) {
				t.Fatalf("header %s", hdr)
			}
		})
	}
}

func TestServeIntrospect_ActiveOnlyForIssuedTokens(t *testing.T) {
	h := New("000000", "999999", WithStore())
	issued, err := h.Issue("read")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name       string
		pass       string
		token      string
		wantStatus int
		wantActive bool
	}{
		{"issued token is active (RFC 7662 2.2)", "999999", issued, 200, true},
		{"unknown token is inactive", "999999", "nope", 200, false},
		{"caller must authenticate", "bad", issued, 401, false},
		{"missing token is invalid_request", "999999", "", 400, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			body := url.Values{"token": {tt.token}}.Encode()
			rec := post(h.ServeIntrospect, "/introspect", "000000", tt.pass, body)
			if rec.Code != tt.wantStatus {
				t.Fatalf("status %d, want %d", rec.Code, tt.wantStatus)
			}
			if rec.Code != 200 {
				return
			}
			var got introspectionResponse
			if err := json.Unmarshal(rec.Body.Bytes(), &got); err != nil {
				t.Fatal(err)
			}
			if got.Active != tt.wantActive || (got.Active && (got.ClientID != "000000" || got.Scope != "read")) {
				t.Fatalf("got %+v", got)
			}
		})
	}
}

func TestNewSigner_RefusesUnknownAlgorithm(t *testing.T) {
	if _, err := NewSigner("HS256"); err == nil {
		t.Fatal("NewSigner(HS256) succeeded")
	}
	k, _ := GenerateKey(EdDSA)
	if _, err := NewSignerWithKey(ES256, k); err == nil {
		t.Fatal("ES256 with an Ed25519 key succeeded")
	}
}
