package oidc_test

import (
	"errors"
	"net/url"
	"strings"
	"testing"
	"time"

	oauth2errors "github.com/oauth2d/oauth2/errors"
	"github.com/oauth2d/oauth2/oidc"
)

func params(kv ...string) url.Values {
	v := url.Values{"scope": {"openid profile"}}
	for i := 0; i+1 < len(kv); i += 2 {
		if kv[i+1] == "\x00" {
			delete(v, kv[i])
			continue
		}
		v.Add(kv[i], kv[i+1])
	}
	return v
}

func TestAuthRequestParametersOfCore3121AreParsed(t *testing.T) {
	r, err := oidc.ParseAuthRequest(params(
		"prompt", "login consent", "max_age", "300", "nonce", "n-1", "display", "popup",
		"ui_locales", "fr-CA fr en", "claims_locales", "de", "acr_values", "urn:a urn:b",
		"login_hint", "alice@example.com", "id_token_hint", "eyJ.eyJ.sig",
		"claims", `{"userinfo":{"email":{"essential":true}}}`, "unknown_param", "ignored",
	), "code")
	if err != nil {
		t.Fatal(err)
	}
	if !r.OpenID || !r.Prompt.Has(oidc.PromptLogin) || !r.Prompt.Has(oidc.PromptConsent) || r.Prompt.Has(oidc.PromptNone) {
		t.Fatalf("prompt = %v", r.Prompt)
	}
	if r.Prompt.String() != "login consent" {
		t.Fatalf("prompt string = %q", r.Prompt.String())
	}
	if !r.HasMaxAge || r.MaxAge != 300*time.Second || r.Nonce != "n-1" || r.Display != "popup" {
		t.Fatalf("max_age %v %v nonce %q display %q", r.HasMaxAge, r.MaxAge, r.Nonce, r.Display)
	}
	if strings.Join(r.UILocales, ",") != "fr-CA,fr,en" || strings.Join(r.ClaimsLocales, ",") != "de" ||
		strings.Join(r.ACRValues, ",") != "urn:a,urn:b" {
		t.Fatalf("lists %v %v %v", r.UILocales, r.ClaimsLocales, r.ACRValues)
	}
	if r.LoginHint != "alice@example.com" || r.IDTokenHint != "eyJ.eyJ.sig" || r.Claims == nil || !r.Claims.UserInfo["email"].Essential {
		t.Fatalf("hints %q %q claims %+v", r.LoginHint, r.IDTokenHint, r.Claims)
	}
}

func TestAuthRequestDefaults(t *testing.T) {
	r, err := oidc.ParseAuthRequest(params("display", "fullscreen"), "code")
	if err != nil {
		t.Fatal(err)
	}
	if r.Prompt != 0 || r.HasMaxAge || r.Nonce != "" || r.Display != "" || r.Claims != nil {
		t.Fatalf("defaults: %+v", r)
	}
	r, err = oidc.ParseAuthRequest(params("max_age", "0"), "code")
	if err != nil || !r.HasMaxAge || r.MaxAge != 0 {
		t.Fatalf("max_age=0: %+v %v", r, err)
	}
}

func TestAuthRequestWithoutOpenIDScopeIsPlainOAuth(t *testing.T) {
	r, err := oidc.ParseAuthRequest(params("scope", "\x00", "prompt", "none login", "max_age", "x"), "code")
	if err != nil || r.OpenID {
		t.Fatalf("plain OAuth request: %+v %v", r, err)
	}
	_, err = oidc.ParseAuthRequest(params("scope", "\x00", "request", "eyJ..."), "code")
	if !errors.Is(err, oauth2errors.ErrRequestNotSupported) {
		t.Fatalf("request parameter of a plain OAuth request: %v", err)
	}
}

func TestAuthRequestBadParametersGetTheSpecError(t *testing.T) {
	tests := []struct {
		name         string
		params       url.Values
		responseType string
		want         error
	}{
		{"prompt none with login (Core 3.1.2.1)", params("prompt", "none login"), "code", oauth2errors.ErrInvalidRequest},
		{"prompt none with consent", params("prompt", "consent none"), "code", oauth2errors.ErrInvalidRequest},
		{"prompt unknown value", params("prompt", "login sometimes"), "code", oauth2errors.ErrInvalidRequest},
		{"max_age not a number", params("max_age", "ten"), "code", oauth2errors.ErrInvalidRequest},
		{"max_age negative", params("max_age", "-1"), "code", oauth2errors.ErrInvalidRequest},
		{"max_age with a sign", params("max_age", "+5"), "code", oauth2errors.ErrInvalidRequest},
		{"max_age fractional", params("max_age", "1.5"), "code", oauth2errors.ErrInvalidRequest},
		{"max_age empty", params("max_age", ""), "code", oauth2errors.ErrInvalidRequest},
		{"max_age overflows", params("max_age", "99999999999999999999"), "code", oauth2errors.ErrInvalidRequest},
		{"max_age repeated", params("max_age", "1", "max_age", "2"), "code", oauth2errors.ErrInvalidRequest},
		{"nonce repeated", params("nonce", "a", "nonce", "b"), "code", oauth2errors.ErrInvalidRequest},
		{"scope repeated", params("scope", "openid"), "code", oauth2errors.ErrInvalidRequest},
		{"no nonce for id_token (Core 3.2.2.1)", params(), "id_token", oauth2errors.ErrInvalidRequest},
		{"no nonce for code id_token (Core 3.3.2.11)", params(), "code id_token", oauth2errors.ErrInvalidRequest},
		{"nonce too long", params("nonce", strings.Repeat("n", oidc.MaxNonceLength+1)), "code", oauth2errors.ErrInvalidRequest},
		{"login_hint too long", params("login_hint", strings.Repeat("a", oidc.MaxLoginHintLength+1)), "code", oauth2errors.ErrInvalidRequest},
		{"id_token_hint too long", params("id_token_hint", strings.Repeat("a", oidc.MaxIDTokenHintLength+1)), "code", oauth2errors.ErrInvalidRequest},
		{"claims not JSON", params("claims", "{email}"), "code", oauth2errors.ErrInvalidRequest},
		{"claims huge", params("claims", `{"userinfo":{}}`+strings.Repeat(" ", oidc.MaxClaimsRequestBytes)), "code", oauth2errors.ErrInvalidRequest},
		{"request object (Core 6)", params("request", "eyJhbGciOiJub25lIn0.e30."), "code", oauth2errors.ErrRequestNotSupported},
		{"request_uri (Core 6)", params("request_uri", "https://rp.example.com/r"), "code", oauth2errors.ErrRequestURINotSupported},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := oidc.ParseAuthRequest(tt.params, tt.responseType)
			if !errors.Is(err, tt.want) || r != nil {
				t.Fatalf("ParseAuthRequest = %+v, %v; want %v", r, err, tt.want)
			}
			if code := oauth2errors.Code(err); code != tt.want.Error() {
				t.Fatalf("wire code %q, want %q", code, tt.want)
			}
		})
	}
	if _, err := oidc.ParseAuthRequest(params("nonce", "n"), "code id_token"); err != nil {
		t.Fatalf("hybrid request with nonce: %v", err)
	}
}

// FuzzParseAuthRequest checks that ParseAuthRequest never panics on any
// query and that every refusal carries an error code of the catalog.
func FuzzParseAuthRequest(f *testing.F) {
	f.Add("scope=openid&prompt=none&max_age=10&nonce=x", "code")
	f.Add("scope=openid&claims=%7B%22userinfo%22%3A%7B%7D%7D&prompt=login+consent", "code id_token")
	f.Add("scope=openid&request_uri=x", "code")
	f.Fuzz(func(t *testing.T, query, responseType string) {
		v, err := url.ParseQuery(query)
		if err != nil {
			return
		}
		r, err := oidc.ParseAuthRequest(v, responseType)
		if err != nil {
			if code := oauth2errors.Code(err); code == "server_error" || r != nil {
				t.Fatalf("%q: error %v (code %s), request %+v", query, err, code, r)
			}
			return
		}
		if r.Prompt.Has(oidc.PromptNone) && r.Prompt != oidc.PromptNone {
			t.Fatalf("%q: prompt none with another value accepted", query)
		}
		if r.HasMaxAge && r.MaxAge < 0 {
			t.Fatalf("%q: negative max_age", query)
		}
	})
}

func TestDecide(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	fresh := oidc.Session{UserID: "alice", AuthTime: now.Add(-time.Minute), ConsentGiven: true}
	hint := func(sub string) *oidc.IDTokenHint { return &oidc.IDTokenHint{Subject: sub, Audience: []string{"rp"}} }
	with := func(s oidc.Session, edit func(*oidc.Session)) oidc.Session { edit(&s); return s }
	tests := []struct {
		name    string
		params  url.Values
		session oidc.Session
		hint    *oidc.IDTokenHint
		want    oidc.Action
		wantErr error
	}{
		{"session and consent: proceed", params(), fresh, nil, oidc.Proceed, nil},
		{"no session: login", params(), oidc.Session{}, nil, oidc.Login, nil},
		{"TestPromptNoneWithoutSessionIsLoginRequired", params("prompt", "none"), oidc.Session{}, nil, oidc.Login, oauth2errors.ErrLoginRequired},
		{"prompt none with session and consent: proceed", params("prompt", "none"), fresh, nil, oidc.Proceed, nil},
		{"prompt none without consent: consent_required", params("prompt", "none"), with(fresh, func(s *oidc.Session) { s.ConsentGiven = false }), nil, oidc.Consent, oauth2errors.ErrConsentRequired},
		{"prompt login forces a fresh login", params("prompt", "login"), fresh, nil, oidc.Login, nil},
		{"prompt login satisfied by a login during the request", params("prompt", "login"), with(fresh, func(s *oidc.Session) { s.AuthenticatedNow = true }), nil, oidc.Proceed, nil},
		{"prompt select_account is treated as login", params("prompt", "select_account"), fresh, nil, oidc.Login, nil},
		{"prompt consent forces the consent page", params("prompt", "consent"), fresh, nil, oidc.Consent, nil},
		{"prompt consent satisfied by consent during the request", params("prompt", "consent"), with(fresh, func(s *oidc.Session) { s.ConsentedNow = true }), nil, oidc.Proceed, nil},
		{"no consent on record: consent page", params(), with(fresh, func(s *oidc.Session) { s.ConsentGiven = false }), nil, oidc.Consent, nil},
		{"max_age older than the session: login", params("max_age", "30"), fresh, nil, oidc.Login, nil},
		{"max_age within the session: proceed", params("max_age", "60"), fresh, nil, oidc.Proceed, nil},
		{"max_age=0 needs a login during the request", params("max_age", "0"), fresh, nil, oidc.Login, nil},
		{"max_age=0 satisfied by a login during the request", params("max_age", "0"), with(fresh, func(s *oidc.Session) { s.AuthenticatedNow = true; s.AuthTime = now }), nil, oidc.Proceed, nil},
		{"max_age with prompt none and an old session: login_required", params("max_age", "30", "prompt", "none"), fresh, nil, oidc.Login, oauth2errors.ErrLoginRequired},
		{"max_age with unknown auth_time: login", params("max_age", "3600"), with(fresh, func(s *oidc.Session) { s.AuthTime = time.Time{} }), nil, oidc.Login, nil},
		{"id_token_hint of the session's user: proceed", params(), fresh, hint("alice"), oidc.Proceed, nil},
		{"id_token_hint of the pairwise subject: proceed", params(), with(fresh, func(s *oidc.Session) { s.Subject = "pw-1" }), hint("pw-1"), oidc.Proceed, nil},
		{"id_token_hint of another user: login", params(), fresh, hint("bob"), oidc.Login, nil},
		{"id_token_hint of another user under prompt none: login_required", params("prompt", "none"), fresh, hint("bob"), oidc.Login, oauth2errors.ErrLoginRequired},
		{"id_token_hint of another user after a login: login_required", params(), with(fresh, func(s *oidc.Session) { s.AuthenticatedNow = true }), hint("bob"), oidc.Login, oauth2errors.ErrLoginRequired},
		{"claims sub value of another user: login", params("claims", `{"id_token":{"sub":{"value":"bob"}}}`), fresh, nil, oidc.Login, nil},
		{"claims sub value of the user: proceed", params("claims", `{"id_token":{"sub":{"value":"alice"}}}`), fresh, nil, oidc.Proceed, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := oidc.ParseAuthRequest(tt.params, "code")
			if err != nil {
				t.Fatal(err)
			}
			got, err := r.Decide(now, tt.session, tt.hint)
			if got != tt.want || !errors.Is(err, tt.wantErr) || (tt.wantErr == nil) != (err == nil) {
				t.Fatalf("Decide = %v, %v; want %v, %v", got, err, tt.want, tt.wantErr)
			}
		})
	}
}

// Evaluate says why a page is needed, so that the login page can say it.
func TestEvaluateSaysWhy(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	fresh := oidc.Session{UserID: "alice", AuthTime: now, ConsentGiven: true}
	tests := []struct {
		name    string
		params  url.Values
		session oidc.Session
		hint    *oidc.IDTokenHint
		action  oidc.Action
		reason  oidc.Reason
		wantErr error
	}{
		{"nobody signed in", params(), oidc.Session{}, nil, oidc.Login, oidc.ReasonNoSession, nil},
		{"prompt=login", params("prompt", "login"), fresh, nil, oidc.Login, oidc.ReasonPromptLogin, nil},
		{"max_age=0 is prompt=login even for a session of this second (Core 3.1.2.1)", params("max_age", "0"), fresh, nil, oidc.Login, oidc.ReasonMaxAge, nil},
		{"max_age=0 under prompt=none is login_required", params("max_age", "0", "prompt", "none"), fresh, nil, oidc.Login, oidc.ReasonMaxAge, oauth2errors.ErrLoginRequired},
		{"another user", params(), fresh, &oidc.IDTokenHint{Subject: "bob"}, oidc.Login, oidc.ReasonOtherUser, nil},
		{"no consent", params(), oidc.Session{UserID: "alice", AuthTime: now}, nil, oidc.Consent, oidc.ReasonNoConsent, nil},
		{"prompt=consent", params("prompt", "consent"), fresh, nil, oidc.Consent, oidc.ReasonPromptConsent, nil},
		{"nothing needed", params(), fresh, nil, oidc.Proceed, oidc.ReasonNone, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := oidc.ParseAuthRequest(tt.params, "code")
			if err != nil {
				t.Fatal(err)
			}
			a, reason, err := r.Evaluate(now, tt.session, tt.hint)
			if a != tt.action || reason != tt.reason || !errors.Is(err, tt.wantErr) || (tt.wantErr == nil) != (err == nil) {
				t.Fatalf("Evaluate = %v %v %v; want %v %v %v", a, reason, err, tt.action, tt.reason, tt.wantErr)
			}
			if reason.String() == "unknown" {
				t.Fatalf("reason %d has no name", reason)
			}
		})
	}
}
