package oauth2d

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/oauth2d/oauth2/internal/secret"
	"github.com/oauth2d/oauth2/oidc"
)

// Users kept in the store (docs/architecture.md, management): a document
// of kind "user" per user, its ID the username, its body the JSON of
// userDoc. They sign in on the login page and with the password grant, and
// their claims go into ID tokens and UserInfo, as the users of the YAML
// file do.

// userDoc is the body of a "user" document: the argon2id hash of the
// password (never the password), the standard claims (OpenID Connect Core
// 1.0 5.1, validated as users[].claims are), whether the user is disabled
// (no sign-in, no password grant, no claims, no session), when it was
// created and last changed, and the earliest sign-in of a session that
// counts (set at creation, at every disable and at every password change:
// the sessions signed in before end; user_revoke.go).
type userDoc struct {
	Username          string         `json:"username"`
	PasswordHash      string         `json:"password_hash"`
	Claims            map[string]any `json:"claims,omitempty"`
	Disabled          bool           `json:"disabled,omitempty"`
	CreatedAt         time.Time      `json:"created_at"`
	UpdatedAt         time.Time      `json:"updated_at"`
	SessionsNotBefore time.Time      `json:"sessions_not_before,omitzero"`
}

// decodeUserDoc reads the body of a "user" document.
func decodeUserDoc(body []byte) (*userDoc, error) {
	var d userDoc
	if err := json.Unmarshal(body, &d); err != nil {
		return nil, fmt.Errorf("oauth2d: user document: %w", err)
	}
	return &d, nil
}

// claims returns the user's claims as ID tokens and UserInfo release them.
func (d *userDoc) claims() (oidc.Claims, error) {
	c, err := oidc.ClaimsFromMap(d.Claims)
	if err != nil {
		return oidc.Claims{}, fmt.Errorf("oauth2d: the claims of a user: %w", err)
	}
	return *c, nil
}

// validateUsername checks a username as Config.Validate checks
// users[].username, and that it fits in a document ID.
func validateUsername(ps *problems, field, username string) {
	switch {
	case username == "":
		ps.add(field, "required")
	case strings.ContainsFunc(username, isControl):
		ps.add(field, "contains control characters")
	case len(username) > 255 || strings.ContainsFunc(username, func(r rune) bool { return r <= ' ' || r >= 0x7f }):
		// oauth2.CheckDocument: the username is the document's ID.
		ps.add(field, "must be 1 to 255 printable ASCII characters without spaces")
	}
}

// validateUserDoc checks a user document: its username, its hash and its
// claims, with the rules of the users of the YAML file.
func validateUserDoc(d *userDoc) error {
	var ps problems
	validateUsername(&ps, "username", d.Username)
	if secret.Check(d.PasswordHash) != nil {
		ps.add("password", "no valid password hash")
	}
	validateClaims(&ps, "claims", d.Claims)
	return ps.err()
}

// checkPassword checks a new password: not empty, at most
// maxPasswordBytes (what `oauth2d hash-password` reads).
func checkPassword(ps *problems, field, password string) {
	switch {
	case password == "":
		ps.add(field, "required")
	case len(password) > maxPasswordBytes:
		ps.add(field, "longer than %d bytes", maxPasswordBytes)
	}
}
