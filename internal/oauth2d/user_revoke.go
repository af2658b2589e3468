package oauth2d

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/oauth2d/oauth2"
)

// The end of a store user's access (docs/architecture.md section 6.2):
// disabling or deleting a user kept in the store revokes every grant the
// index has of it and forgets every consent it remembered, and the pages
// honour a session only while its user exists, is enabled and signed in
// after the user's sessions_not_before (set at creation, at every disable
// and at every password change through the admin API).

// signInsNotBefore is the pages' check of the user of a session who is
// not a user of the YAML file (web.Config.SignInsNotBefore; the pages do
// not ask about those, who are always signed in): a store user is signed
// in only while enabled, from its sessions_not_before (or its creation)
// on. A user the store does not have is oauth2.ErrNotFound: its sessions
// end.
func (a *App) signInsNotBefore(ctx context.Context, username string) (time.Time, error) {
	d, err := a.storeUser(ctx, username)
	if err != nil {
		return time.Time{}, err
	}
	if d.Disabled {
		return time.Time{}, fmt.Errorf("oauth2d: user %q is disabled: %w", username, oauth2.ErrNotFound)
	}
	return d.signInsNotBefore(), nil
}

// signInsNotBefore returns the earliest sign-in that counts for the user:
// its sessions_not_before, and never before its creation.
func (d *userDoc) signInsNotBefore() time.Time {
	if d.SessionsNotBefore.After(d.CreatedAt) {
		return d.SessionsNotBefore
	}
	return d.CreatedAt
}

// withdrawUser revokes every indexed grant of username and forgets every
// consent it remembered, one audit line per grant revoked. On failure it
// answers 503 saying that the user is disabled (the caller has stored
// that already) and that the request must be retried, and returns false.
func (a *App) withdrawUser(ctx context.Context, w http.ResponseWriter, actor, username, retry string) bool {
	n, c, err := a.web.WithdrawUser(ctx, actor, username)
	if err != nil {
		a.log.Error("admin: revoke the grants of a disabled user", "username", username, "grants_revoked", n, "err", err)
		writeProblem(w, http.StatusServiceUnavailable, "Service Unavailable",
			"user "+strconv.QuoteToASCII(username)+" is disabled and cannot sign in, but the store failed while revoking its grants and consents: "+retry+" to finish", nil)
		return false
	}
	if n > 0 || c > 0 {
		a.log.Info("admin: withdrew the grants of a user", "username", username, "grants", n, "consents", c)
	}
	return true
}
