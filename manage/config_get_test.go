package manage_test

import (
	stderrors "errors"
	"slices"
	"testing"

	"github.com/oauth2d/oauth2"
	"github.com/oauth2d/oauth2/errors"
	"github.com/oauth2d/oauth2/manage"
)

// TestCodeChallengeMethods_MatchWhatIsAccepted: the methods the manager
// reports (for RFC 8414 code_challenge_methods_supported) are exactly those
// an authorization request may use (RFC 7636 4.3).
func TestCodeChallengeMethods_MatchWhatIsAccepted(t *testing.T) {
	const challenge = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM" // RFC 7636 Appendix B
	tests := []struct {
		name string
		pkce manage.PKCEConfig
		want []oauth2.CodeChallengeMethod
	}{
		{"default: S256 only", manage.PKCEConfig{}, []oauth2.CodeChallengeMethod{oauth2.CodeChallengeS256}},
		{"required changes nothing", manage.PKCEConfig{Required: true}, []oauth2.CodeChallengeMethod{oauth2.CodeChallengeS256}},
		{"plain allowed", manage.PKCEConfig{AllowPlain: true}, []oauth2.CodeChallengeMethod{oauth2.CodeChallengeS256, oauth2.CodeChallengePlain}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			e.m.SetPKCE(tt.pkce)
			if got := e.m.PKCE(); got != tt.pkce {
				t.Fatalf("PKCE() = %+v, want %+v", got, tt.pkce)
			}
			got := e.m.CodeChallengeMethods()
			if !slices.Equal(got, tt.want) {
				t.Fatalf("CodeChallengeMethods() = %v, want %v", got, tt.want)
			}
			for _, m := range []oauth2.CodeChallengeMethod{oauth2.CodeChallengeS256, oauth2.CodeChallengePlain, "S512"} {
				_, err := e.m.GenerateAuthToken(e.ctx, oauth2.Code, &oauth2.TokenGenerateRequest{
					ClientID: "conf", Client: e.clients["conf"], UserID: "u1", RedirectURI: confRedirect,
					CodeChallenge: challenge, CodeChallengeMethod: m,
				})
				accepted := err == nil
				if accepted != slices.Contains(got, m) {
					t.Errorf("method %s: reported %t, accepted %t (%v)", m, slices.Contains(got, m), accepted, err)
				}
				if err != nil && !stderrors.Is(err, errors.ErrUnsupportedCodeChallengeMethod) {
					t.Errorf("method %s: %v, want unsupported method", m, err)
				}
			}
		})
	}
}
