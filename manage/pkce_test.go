package manage_test

import (
	"strings"
	"testing"

	"github.com/oauth2d/oauth2"
	"github.com/oauth2d/oauth2/errors"
	"github.com/oauth2d/oauth2/manage"
)

func TestPKCE_AuthorizationRequestChecks(t *testing.T) {
	long := strings.Repeat("a", 128)
	tests := []struct {
		name      string
		client    string
		cfg       manage.PKCEConfig
		challenge string
		method    oauth2.CodeChallengeMethod
		want      error // nil: accepted
	}{
		{"S256 accepted", "conf", manage.PKCEConfig{}, rfcChallenge, oauth2.CodeChallengeS256, nil},
		{"no PKCE for a confidential client", "conf", manage.PKCEConfig{}, "", "", nil},
		{"public client without challenge", "pub", manage.PKCEConfig{}, "", "", errors.ErrMissingCodeChallenge},
		{"Required: confidential client without challenge", "conf", manage.PKCEConfig{Required: true}, "", "", errors.ErrMissingCodeChallenge},
		{"method without challenge", "conf", manage.PKCEConfig{}, "", oauth2.CodeChallengeS256, errors.ErrMissingCodeChallenge},
		{"plain refused by default", "conf", manage.PKCEConfig{}, rfcVerifier, oauth2.CodeChallengePlain, errors.ErrUnsupportedCodeChallengeMethod},
		{"missing method is plain (RFC 7636 4.3), refused", "conf", manage.PKCEConfig{}, rfcVerifier, "", errors.ErrUnsupportedCodeChallengeMethod},
		{"plain when allowed", "conf", manage.PKCEConfig{AllowPlain: true}, rfcVerifier, oauth2.CodeChallengePlain, nil},
		{"plain 128 chars", "conf", manage.PKCEConfig{AllowPlain: true}, long, oauth2.CodeChallengePlain, nil},
		{"plain 129 chars", "conf", manage.PKCEConfig{AllowPlain: true}, long + "a", oauth2.CodeChallengePlain, errors.ErrInvalidCodeChallengeLen},
		{"plain 42 chars", "conf", manage.PKCEConfig{AllowPlain: true}, rfcVerifier[:42], oauth2.CodeChallengePlain, errors.ErrInvalidCodeChallengeLen},
		{"unknown method", "conf", manage.PKCEConfig{AllowPlain: true}, rfcChallenge, "S512", errors.ErrUnsupportedCodeChallengeMethod},
		{"lowercase s256 is unknown", "conf", manage.PKCEConfig{}, rfcChallenge, "s256", errors.ErrUnsupportedCodeChallengeMethod},
		{"S256 too short", "conf", manage.PKCEConfig{}, rfcChallenge[:42], oauth2.CodeChallengeS256, errors.ErrInvalidCodeChallengeLen},
		{"S256 too long", "conf", manage.PKCEConfig{}, rfcChallenge + "A", oauth2.CodeChallengeS256, errors.ErrInvalidCodeChallengeLen},
		{"S256 with padding", "conf", manage.PKCEConfig{}, rfcChallenge[:42] + "=", oauth2.CodeChallengeS256, errors.ErrInvalidCodeChallengeLen},
		{"S256 with padding after 43 characters is accepted", "conf", manage.PKCEConfig{}, rfcChallenge + "=", oauth2.CodeChallengeS256, nil},
		{"S256 with two padding characters", "conf", manage.PKCEConfig{}, rfcChallenge + "==", oauth2.CodeChallengeS256, errors.ErrInvalidCodeChallengeLen},
		{"plain 11 chars with AllowShortVerifier", "conf", manage.PKCEConfig{AllowPlain: true, AllowShortVerifier: true}, "s256example", oauth2.CodeChallengePlain, nil},
		{"AllowShortVerifier keeps the 128 limit", "conf", manage.PKCEConfig{AllowPlain: true, AllowShortVerifier: true}, long + "a", oauth2.CodeChallengePlain, errors.ErrInvalidCodeChallengeLen},
		{"S256 with a reserved character", "conf", manage.PKCEConfig{}, rfcChallenge[:42] + "/", oauth2.CodeChallengeS256, errors.ErrInvalidCodeChallengeLen},
		{"plain with a space", "conf", manage.PKCEConfig{AllowPlain: true}, rfcVerifier[:42] + " ", oauth2.CodeChallengePlain, errors.ErrInvalidCodeChallengeLen},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			e.m.SetPKCE(tt.cfg)
			redirect := confRedirect
			if tt.client == "pub" {
				redirect = pubRedirect
			}
			ti, err := e.m.GenerateAuthToken(e.ctx, oauth2.Code, &oauth2.TokenGenerateRequest{
				ClientID: tt.client, RedirectURI: redirect, CodeChallenge: tt.challenge, CodeChallengeMethod: tt.method,
			})
			if tt.want == nil {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				return
			}
			wantErr(t, ti, err, tt.want)
		})
	}
}

func TestPKCE_VerifierChecks(t *testing.T) {
	tests := []struct {
		name      string
		cfg       manage.PKCEConfig
		challenge string
		method    oauth2.CodeChallengeMethod
		verifier  string
		want      error
	}{
		{"S256 matches (RFC 7636 Appendix B)", manage.PKCEConfig{}, rfcChallenge, oauth2.CodeChallengeS256, rfcVerifier, nil},
		{"S256 wrong verifier", manage.PKCEConfig{}, rfcChallenge, oauth2.CodeChallengeS256, strings.Repeat("x", 43), errors.ErrInvalidCodeChallenge},
		{"S256 challenge sent as verifier", manage.PKCEConfig{}, rfcChallenge, oauth2.CodeChallengeS256, rfcChallenge, errors.ErrInvalidCodeChallenge},
		{"verifier missing", manage.PKCEConfig{}, rfcChallenge, oauth2.CodeChallengeS256, "", errors.ErrMissingCodeVerifier},
		{"verifier too short", manage.PKCEConfig{}, rfcChallenge, oauth2.CodeChallengeS256, rfcVerifier[:42], errors.ErrInvalidGrant},
		{"verifier with a reserved character", manage.PKCEConfig{}, rfcChallenge, oauth2.CodeChallengeS256, rfcVerifier[:42] + "+", errors.ErrInvalidCodeChallenge},
		{"plain matches", manage.PKCEConfig{AllowPlain: true}, rfcVerifier, oauth2.CodeChallengePlain, rfcVerifier, nil},
		{"plain via missing method", manage.PKCEConfig{AllowPlain: true}, rfcVerifier, "", rfcVerifier, nil},
		{"plain mismatch", manage.PKCEConfig{AllowPlain: true}, rfcVerifier, oauth2.CodeChallengePlain, strings.Repeat("y", 43), errors.ErrInvalidCodeChallenge},
		{"plain challenge, S256 transform sent", manage.PKCEConfig{AllowPlain: true}, rfcVerifier, oauth2.CodeChallengePlain, rfcChallenge, errors.ErrInvalidCodeChallenge},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			e.m.SetPKCE(tt.cfg)
			code, err := e.m.GenerateAuthToken(e.ctx, oauth2.Code, &oauth2.TokenGenerateRequest{
				ClientID: "conf", RedirectURI: confRedirect, CodeChallenge: tt.challenge, CodeChallengeMethod: tt.method,
			})
			if err != nil {
				t.Fatal(err)
			}
			ti, err := e.exchange(code.GetCode(), confRedirect, tt.verifier)
			if tt.want == nil {
				if err != nil || ti.GetAccess() == "" {
					t.Fatalf("refused: %v", err)
				}
				return
			}
			wantErr(t, ti, err, tt.want)
			if errors.Code(err) != "invalid_grant" {
				t.Fatalf("token endpoint PKCE failure maps to %q, want invalid_grant (RFC 7636 4.6)", errors.Code(err))
			}
			// A failed verification does not consume the code: the
			// legitimate client can still redeem it.
			if tt.challenge == rfcChallenge {
				if _, err := e.exchange(code.GetCode(), confRedirect, rfcVerifier); err != nil {
					t.Fatalf("code consumed by a failed verification: %v", err)
				}
			}
		})
	}
}

// TestPKCE_DowngradeRefusedBothWays: a code issued with a challenge needs
// the verifier, and a code issued without one refuses a verifier
// (RFC 9700 4.8).
func TestPKCE_DowngradeRefusedBothWays(t *testing.T) {
	e := newEnv(t)
	with := e.authorize("conf", confRedirect, "", rfcVerifier)
	ti, err := e.exchange(with.GetCode(), confRedirect, "")
	wantErr(t, ti, err, errors.ErrMissingCodeVerifier)

	without := e.authorize("conf", confRedirect, "", "")
	ti, err = e.exchange(without.GetCode(), confRedirect, rfcVerifier)
	wantErr(t, ti, err, errors.ErrInvalidCodeChallenge)

	// Both codes are still redeemable the right way.
	if _, err := e.exchange(with.GetCode(), confRedirect, rfcVerifier); err != nil {
		t.Fatal(err)
	}
	if _, err := e.exchange(without.GetCode(), confRedirect, ""); err != nil {
		t.Fatal(err)
	}
}

// The verifier of go-oauth2 v4's example client, and its challenge as that
// client sends it: base64 with padding.
const (
	v4Verifier        = "s256example"
	v4PaddedChallenge = "Qn3Kywp0OiU4NK_AFzGPlmrcYJDJ13Abj_jdL08Ahg8="
)

// TestPKCE_Leniency: a padded S256 challenge is stored unpadded and its
// verifier matches; a verifier shorter than 43 characters is refused as too
// short unless PKCEConfig.AllowShortVerifier, and with the option it must
// still match (RFC 7636 4.1, 4.2, 4.6).
func TestPKCE_Leniency(t *testing.T) {
	tests := []struct {
		name      string
		cfg       manage.PKCEConfig
		challenge string
		verifier  string
		want      error  // nil: tokens issued
		desc      string // wanted error text
	}{
		{"padded challenge, RFC verifier", manage.PKCEConfig{}, rfcChallenge + "=", rfcVerifier, nil, ""},
		{"short verifier refused by default", manage.PKCEConfig{}, v4PaddedChallenge, v4Verifier, errors.ErrInvalidGrant, "code_verifier too short"},
		{"short wrong verifier still says too short", manage.PKCEConfig{}, rfcChallenge, "abc", errors.ErrInvalidGrant, "code_verifier too short"},
		{"short verifier with AllowShortVerifier", manage.PKCEConfig{AllowShortVerifier: true}, v4PaddedChallenge, v4Verifier, nil, ""},
		{"short wrong verifier with AllowShortVerifier", manage.PKCEConfig{AllowShortVerifier: true}, v4PaddedChallenge, "s256exampl", errors.ErrInvalidCodeChallenge, "does not match"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			e.m.SetPKCE(tt.cfg)
			code, err := e.m.GenerateAuthToken(e.ctx, oauth2.Code, &oauth2.TokenGenerateRequest{
				ClientID: "conf", RedirectURI: confRedirect, CodeChallenge: tt.challenge, CodeChallengeMethod: oauth2.CodeChallengeS256,
			})
			if err != nil {
				t.Fatal(err)
			}
			if got := code.GetCodeChallenge(); strings.HasSuffix(got, "=") {
				t.Fatalf("stored challenge %q keeps its padding", got)
			}
			ti, err := e.exchange(code.GetCode(), confRedirect, tt.verifier)
			if tt.want == nil {
				if err != nil || ti.GetAccess() == "" {
					t.Fatalf("refused: %v", err)
				}
				return
			}
			wantErr(t, ti, err, tt.want)
			if _, _, desc := errors.Lookup(err); !strings.Contains(desc, tt.desc) {
				t.Fatalf("error_description %q, want it to say %q", desc, tt.desc)
			}
		})
	}
}
