package oauth2_test

import (
	"testing"

	"github.com/oauth2d/oauth2"
)

// TestCodeChallengeMethod_Validate checks the transform of RFC 7636 4.6
// with the example of its Appendix B, as go-oauth2 v4's Validate did: S256
// ignores the challenge's padding, and nothing empty or unknown matches.
func TestCodeChallengeMethod_Validate(t *testing.T) {
	const (
		verifier  = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"
		challenge = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
	)
	tests := []struct {
		name   string
		method oauth2.CodeChallengeMethod
		cc     string
		ver    string
		want   bool
	}{
		{"S256 Appendix B", oauth2.CodeChallengeS256, challenge, verifier, true},
		{"S256 padded challenge", oauth2.CodeChallengeS256, challenge + "=", verifier, true},
		{"S256 wrong verifier", oauth2.CodeChallengeS256, challenge, verifier[:42] + "Y", false},
		{"S256 challenge as verifier", oauth2.CodeChallengeS256, challenge, challenge, false},
		{"S256 empty verifier", oauth2.CodeChallengeS256, challenge, "", false},
		{"plain equal", oauth2.CodeChallengePlain, verifier, verifier, true},
		{"plain different", oauth2.CodeChallengePlain, verifier, challenge, false},
		{"plain both empty", oauth2.CodeChallengePlain, "", "", false},
		{"unknown method", oauth2.CodeChallengeMethod("S512"), challenge, verifier, false},
		{"no method", oauth2.CodeChallengeMethod(""), verifier, verifier, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.method.Validate(tt.cc, tt.ver); got != tt.want {
				t.Fatalf("%s.Validate(%q, %q) = %v, want %v", tt.method, tt.cc, tt.ver, got, tt.want)
			}
		})
	}
}
