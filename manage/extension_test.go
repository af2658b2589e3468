package manage_test

import (
	"bytes"
	"log/slog"
	"net/url"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/oauth2d/oauth2"
	"github.com/oauth2d/oauth2/errors"
	"github.com/oauth2d/oauth2/manage"
	"github.com/oauth2d/oauth2/models"
	"github.com/oauth2d/oauth2/store"
)

// newFileStoreEnv is newEnv over the file token store, which keeps the
// extension data of every record it stores.
func newFileStoreEnv(t *testing.T) *env {
	t.Helper()
	e := newEnv(t)
	fs, err := store.OpenFileTokenStore(filepath.Join(t.TempDir(), "tokens.db"), store.WithFileClock(e.clock.Now))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { fs.Close() })
	e.tokens = fs
	e.m.MapTokenStorage(fs)
	return e
}

func extensionOf(t *testing.T, ti oauth2.TokenInfo) url.Values {
	t.Helper()
	eti, ok := ti.(oauth2.ExtendableTokenInfo)
	if !ok {
		t.Fatalf("%T is not an oauth2.ExtendableTokenInfo", ti)
	}
	return eti.GetExtension()
}

func sameValues(t *testing.T, what string, got, want url.Values) {
	t.Helper()
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("%s: extension %v, want %v", what, got, want)
	}
}

// TestExtension_TravelsWithTheGrant: the request's extension data and the
// ExtractExtensionHandler's are kept with the code, copied to the tokens
// issued from it and to every refreshed successor, as stored records and
// as returned ones; the handler runs at the authorization and token
// endpoints, not at a refresh (go-oauth2 v4.5.3).
func TestExtension_TravelsWithTheGrant(t *testing.T) {
	e := newFileStoreEnv(t)
	var calls []string
	e.m.SetExtractExtensionHandler(func(tgr *oauth2.TokenGenerateRequest, ti oauth2.ExtendableTokenInfo) {
		// go-oauth2 v4 handlers change the map in place.
		if tgr.Code == "" {
			calls = append(calls, "authorize")
			ti.GetExtension().Set("app", "from-authorize")
		} else {
			calls = append(calls, "token")
			ti.GetExtension().Add("app", "from-token")
		}
	})
	code, err := e.m.GenerateAuthToken(e.ctx, oauth2.Code, &oauth2.TokenGenerateRequest{
		ClientID: "conf", UserID: "alice", RedirectURI: confRedirect,
		CodeChallenge: rfcChallenge, CodeChallengeMethod: oauth2.CodeChallengeS256,
		Extension: url.Values{"nonce": {"n-0S6_WzA2Mj"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	wantCode := url.Values{"nonce": {"n-0S6_WzA2Mj"}, "app": {"from-authorize"}}
	sameValues(t, "code", extensionOf(t, code), wantCode)
	stored, err := e.tokens.GetByCode(e.ctx, code.GetCode())
	if err != nil {
		t.Fatal(err)
	}
	sameValues(t, "stored code", extensionOf(t, stored), wantCode)

	// A token request may add keys but not rewrite the grant's.
	issued, err := e.m.GenerateAccessToken(e.ctx, oauth2.AuthorizationCode, &oauth2.TokenGenerateRequest{
		ClientID: "conf", ClientSecret: confSecret, Code: code.GetCode(), RedirectURI: confRedirect, CodeVerifier: rfcVerifier,
		Extension: url.Values{"nonce": {"forged"}, "dpop_jkt": {"0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	wantTokens := url.Values{
		"nonce":    {"n-0S6_WzA2Mj"},
		"app":      {"from-authorize", "from-token"},
		"dpop_jkt": {"0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I"},
	}
	sameValues(t, "issued", extensionOf(t, issued), wantTokens)
	// The code's record is not changed by what the handler did to the
	// tokens' copy.
	sameValues(t, "code after the exchange", extensionOf(t, code), wantCode)
	for _, lookup := range []func() (oauth2.TokenInfo, error){
		func() (oauth2.TokenInfo, error) { return e.m.LoadAccessToken(e.ctx, issued.GetAccess()) },
		func() (oauth2.TokenInfo, error) { return e.m.LoadRefreshToken(e.ctx, issued.GetRefresh()) },
	} {
		ti, err := lookup()
		if err != nil {
			t.Fatal(err)
		}
		sameValues(t, "stored tokens", extensionOf(t, ti), wantTokens)
	}

	refreshed := issued
	for i := range 2 {
		refreshed, err = e.m.RefreshAccessToken(e.ctx, &oauth2.TokenGenerateRequest{
			ClientID: "conf", ClientSecret: confSecret, Refresh: refreshed.GetRefresh(),
			Extension: url.Values{"nonce": {"forged-at-refresh"}},
		})
		if err != nil {
			t.Fatalf("refresh %d: %v", i, err)
		}
		sameValues(t, "refreshed", extensionOf(t, refreshed), wantTokens)
		ti, err := e.m.LoadAccessToken(e.ctx, refreshed.GetAccess())
		if err != nil {
			t.Fatal(err)
		}
		sameValues(t, "stored refreshed", extensionOf(t, ti), wantTokens)
	}
	if got := strings.Join(calls, ","); got != "authorize,token" {
		t.Fatalf("handler calls %s, want authorize,token", got)
	}
}

// TestExtension_DirectGrants: the password and client credentials grants
// keep the request's data and the handler's.
func TestExtension_DirectGrants(t *testing.T) {
	for _, gt := range []oauth2.GrantType{oauth2.ClientCredentials, oauth2.PasswordCredentials} {
		t.Run(gt.String(), func(t *testing.T) {
			e := newFileStoreEnv(t)
			e.m.SetExtractExtensionHandler(func(tgr *oauth2.TokenGenerateRequest, ti oauth2.ExtendableTokenInfo) {
				ti.SetExtension(url.Values{"grant": {gt.String()}, "req": tgr.Extension["req"]})
			})
			ti, err := e.m.GenerateAccessToken(e.ctx, gt, &oauth2.TokenGenerateRequest{
				ClientID: "conf", ClientSecret: confSecret, UserID: "alice", Extension: url.Values{"req": {"r1"}},
			})
			if err != nil {
				t.Fatal(err)
			}
			want := url.Values{"grant": {gt.String()}, "req": {"r1"}}
			sameValues(t, "issued", extensionOf(t, ti), want)
			stored, err := e.m.LoadAccessToken(e.ctx, ti.GetAccess())
			if err != nil {
				t.Fatal(err)
			}
			sameValues(t, "stored", extensionOf(t, stored), want)
		})
	}
}

// TestExtension_UnusedCarriesNothing: without extension data or a handler
// records carry none, and a handler that leaves the data empty stores none.
func TestExtension_UnusedCarriesNothing(t *testing.T) {
	e := newFileStoreEnv(t)
	ti := e.issueGrant("")
	if ext := extensionOf(t, ti); ext != nil {
		t.Fatalf("extension %v without any", ext)
	}
	e.m.SetExtractExtensionHandler(func(*oauth2.TokenGenerateRequest, oauth2.ExtendableTokenInfo) {})
	ti = e.issueGrant("")
	if ext := extensionOf(t, ti); ext != nil {
		t.Fatalf("extension %v from a handler that sets none", ext)
	}
}

// TestExtension_RefusedAtIssuance: extension data that is too large once
// encoded, or not valid UTF-8, fails the request with server_error, is
// logged without its values, and nothing is issued or consumed.
func TestExtension_RefusedAtIssuance(t *testing.T) {
	big := strings.Repeat("x", oauth2.MaxExtensionBytes)
	tests := []struct {
		name string
		ext  url.Values
	}{
		{"one byte too large", url.Values{"k": {big[:oauth2.MaxExtensionBytes-1]}}},
		{"too large once escaped", url.Values{"k": {strings.Repeat(" &", oauth2.MaxExtensionBytes/4)}}},
		{"many keys", func() url.Values {
			v := url.Values{}
			for i := range 1000 {
				v.Set("key"+strings.Repeat("k", i%7)+string(rune('a'+i%26))+string(rune('a'+i/26)), "v")
			}
			return v
		}()},
		{"invalid UTF-8 value", url.Values{"k": {"secret-ish\xff"}}},
		{"invalid UTF-8 key", url.Values{"\xc3\x28": {"v"}}},
	}
	var logs bytes.Buffer
	old := slog.Default()
	slog.SetDefault(slog.New(slog.NewTextHandler(&logs, nil)))
	t.Cleanup(func() { slog.SetDefault(old) })
	t.Run("exactly MaxExtensionBytes is accepted", func(t *testing.T) {
		e := newFileStoreEnv(t)
		ext := url.Values{"k": {big[:oauth2.MaxExtensionBytes-2]}}
		ti, err := e.m.GenerateAccessToken(e.ctx, oauth2.ClientCredentials, &oauth2.TokenGenerateRequest{
			ClientID: "conf", ClientSecret: confSecret, Extension: ext,
		})
		if err != nil {
			t.Fatalf("%d bytes refused: %v", len(ext.Encode()), err)
		}
		sameValues(t, "issued", extensionOf(t, ti), ext)
	})
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newFileStoreEnv(t)
			logs.Reset()
			// At the authorization endpoint: no code.
			code, err := e.m.GenerateAuthToken(e.ctx, oauth2.Code, &oauth2.TokenGenerateRequest{
				ClientID: "conf", UserID: "alice", RedirectURI: confRedirect, Extension: tt.ext,
			})
			checkRefused(t, code, err, &logs)

			// At the token endpoint, through the handler: the code stays
			// redeemable, no token is stored.
			good := e.authorize("conf", confRedirect, "", rfcVerifier)
			e.m.SetExtractExtensionHandler(func(tgr *oauth2.TokenGenerateRequest, ti oauth2.ExtendableTokenInfo) {
				if tgr.Code != "" {
					ti.SetExtension(tt.ext)
				}
			})
			logs.Reset()
			ti, err := e.exchange(good.GetCode(), confRedirect, rfcVerifier)
			checkRefused(t, ti, err, &logs)
			if _, err := e.tokens.GetByCode(e.ctx, good.GetCode()); err != nil {
				t.Fatalf("the code was consumed by a refused exchange: %v", err)
			}
			// Client credentials.
			logs.Reset()
			ti, err = e.m.GenerateAccessToken(e.ctx, oauth2.ClientCredentials, &oauth2.TokenGenerateRequest{
				ClientID: "conf", ClientSecret: confSecret, Extension: tt.ext,
			})
			checkRefused(t, ti, err, &logs)
		})
	}
}

func checkRefused(t *testing.T, ti oauth2.TokenInfo, err error, logs *bytes.Buffer) {
	t.Helper()
	if err == nil || ti != nil {
		t.Fatalf("got %v, %v; want an error and no record", ti, err)
	}
	if code := errors.Code(err); code != "server_error" {
		t.Fatalf("error %v maps to %s, want server_error", err, code)
	}
	line := logs.String()
	if !strings.Contains(line, "extension data refused") || !strings.Contains(line, "client_id=conf") {
		t.Fatalf("refusal not logged with its client: %q", line)
	}
	if strings.Contains(line, "xxxx") || strings.Contains(line, "secret-ish") {
		t.Fatalf("the log holds extension values: %q", line)
	}
}

// plainToken is a token model without extension data.
type plainToken struct{ models.Token }

func (p *plainToken) New() oauth2.TokenInfo { return &plainToken{} }

// Shadow the extension methods so that plainToken is no ExtendableTokenInfo.
func (p *plainToken) GetExtension() {}

// TestExtension_ModelWithoutExtension: extension data for a token model
// that cannot carry it is refused instead of dropped, since a feature may
// depend on it (a key binding); without data the model works as before.
func TestExtension_ModelWithoutExtension(t *testing.T) {
	e := newFileStoreEnv(t)
	e.m.MapTokenModel(&plainToken{})
	if _, ok := any(&plainToken{}).(oauth2.ExtendableTokenInfo); ok {
		t.Fatal("plainToken carries extension data")
	}
	ti, err := e.m.GenerateAccessToken(e.ctx, oauth2.ClientCredentials, &oauth2.TokenGenerateRequest{
		ClientID: "conf", ClientSecret: confSecret,
	})
	if err != nil || ti.GetAccess() == "" {
		t.Fatalf("without extension data: %v", err)
	}
	ti, err = e.m.GenerateAccessToken(e.ctx, oauth2.ClientCredentials, &oauth2.TokenGenerateRequest{
		ClientID: "conf", ClientSecret: confSecret, Extension: url.Values{"k": {"v"}},
	})
	if err == nil || ti != nil || errors.Code(err) != "server_error" {
		t.Fatalf("with extension data: %v, %v; want server_error", ti, err)
	}
}

var _ manage.ExtractExtensionHandler = func(*oauth2.TokenGenerateRequest, oauth2.ExtendableTokenInfo) {}

// TestExtension_ReservedKeysAreTheLibrarys: an ExtractExtensionHandler
// cannot set, change or remove an oauth2d_ key, so that a handler that
// copies request parameters cannot let a client write the library's data;
// other keys it may.
func TestExtension_ReservedKeysAreTheLibrarys(t *testing.T) {
	tests := []struct {
		name    string
		handler func(*oauth2.TokenGenerateRequest, oauth2.ExtendableTokenInfo)
		ok      bool
	}{
		{"sets its own key", func(_ *oauth2.TokenGenerateRequest, ti oauth2.ExtendableTokenInfo) {
			ti.GetExtension().Set("app", "v")
		}, true},
		{"sets a reserved key", func(_ *oauth2.TokenGenerateRequest, ti oauth2.ExtendableTokenInfo) {
			ti.GetExtension().Set("oauth2d_granted_scope", "admin")
		}, false},
		{"copies request parameters", func(tgr *oauth2.TokenGenerateRequest, ti oauth2.ExtendableTokenInfo) {
			ti.SetExtension(url.Values{"oauth2d_x": {"from the client"}, "app": {"v"}})
		}, false},
		{"replaces the data, keeping the reserved key", func(_ *oauth2.TokenGenerateRequest, ti oauth2.ExtendableTokenInfo) {
			ti.SetExtension(url.Values{"oauth2d_kept": ti.GetExtension()["oauth2d_kept"], "app": {"v"}})
		}, true},
		{"removes the reserved key", func(_ *oauth2.TokenGenerateRequest, ti oauth2.ExtendableTokenInfo) {
			ti.SetExtension(url.Values{"app": {"v"}})
		}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newFileStoreEnv(t)
			e.m.SetExtractExtensionHandler(tt.handler)
			ti, err := e.m.GenerateAccessToken(e.ctx, oauth2.ClientCredentials, &oauth2.TokenGenerateRequest{
				ClientID: "conf", ClientSecret: confSecret, Extension: url.Values{"oauth2d_kept": {"set by the library"}},
			})
			if tt.ok {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				if got := extensionOf(t, ti).Get("oauth2d_kept"); got != "set by the library" {
					t.Fatalf("reserved key %q", got)
				}
				return
			}
			if err == nil || ti != nil || errors.Code(err) != "server_error" {
				t.Fatalf("got %v, %v; want server_error", ti, err)
			}
		})
	}
}
