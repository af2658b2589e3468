package web

import (
	"context"
	"crypto/hmac"
	stderrors "errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Every form carries a CSRF token bound to the browser's CSRF cookie (a
// random nonce, HttpOnly, SameSite=Lax), to the session when there is one,
// and to the form it was made for. It is signed with HMAC-SHA256, expires
// after csrfTTL and is accepted once: its random ID is recorded in the
// KVStore when it is used, so a replay fails in every process.

const (
	csrfCookie = "oauth2d_csrf"
	csrfTTL    = 30 * time.Minute
	csrfField  = "csrf"
)

// Errors of CSRF and origin checks. Their texts are shown on the pages.
var (
	errCSRFInvalid  = stderrors.New("This form is not valid. Please try again.")
	errCSRFExpired  = stderrors.New("This form has expired. Please try again.")
	errCSRFReplayed = stderrors.New("This form was already sent. Please try again.")
	errCrossOrigin  = stderrors.New("This form was sent from another site and was refused.")
)

// csrfNonce returns the nonce of the request's CSRF cookie, setting a fresh
// cookie when it has none.
func (p *Pages) csrfNonce(w http.ResponseWriter, r *http.Request) string {
	if n := p.cookie(r, csrfCookie); len(n) >= 22 {
		return n
	}
	n := randomID(32)
	p.setCookie(w, csrfCookie, n, 0)
	// Later reads in the same request see the new nonce.
	r.AddCookie(&http.Cookie{Name: p.cookieName(csrfCookie), Value: n})
	return n
}

// csrfToken returns a fresh token for form, bound to nonce and sid ("" on
// the login form, which has no session yet).
func (p *Pages) csrfToken(nonce, sid, form string) string {
	jti := randomID(12)
	exp := strconv.FormatInt(p.now().Add(csrfTTL).Unix(), 10)
	return jti + "." + exp + "." + b64.EncodeToString(mac(p.csrfKey, "csrf", form, nonce, sid, jti, exp))
}

// checkCSRF verifies the token of a form POST and spends it.
func (p *Pages) checkCSRF(ctx context.Context, r *http.Request, sid, form string) error {
	nonce := p.cookie(r, csrfCookie)
	parts := strings.Split(r.PostForm.Get(csrfField), ".")
	if nonce == "" || len(parts) != 3 {
		return errCSRFInvalid
	}
	jti, exp, sig := parts[0], parts[1], parts[2]
	got, err := b64.DecodeString(sig)
	if err != nil || !hmac.Equal(got, mac(p.csrfKey, "csrf", form, nonce, sid, jti, exp)) {
		return errCSRFInvalid
	}
	expires, err := strconv.ParseInt(exp, 10, 64)
	if err != nil {
		return errCSRFInvalid
	}
	now := p.now()
	if now.Unix() >= expires {
		return errCSRFExpired
	}
	left := time.Unix(expires, 0).Sub(now)
	fresh, err := p.kv.PutIfAbsent(ctx, hashKey("oauth2d/web/csrf-used/", jti), []byte{1}, left+time.Minute)
	if err != nil {
		return fmt.Errorf("web: record CSRF token: %w", err)
	}
	if !fresh {
		return errCSRFReplayed
	}
	return nil
}

// sameOrigin reports whether a POST may come from the issuer's own pages:
// an Origin header, when present, must be the issuer's origin. Browsers
// send "Origin: null" for a same-origin form POST from a page whose
// Referrer-Policy is no-referrer, as ours is; that is accepted only when
// the browser's own Sec-Fetch-Site says same-origin. A request that says
// cross-site is refused even without an Origin.
func (p *Pages) sameOrigin(r *http.Request) bool {
	site := r.Header.Get("Sec-Fetch-Site")
	origin, present := r.Header["Origin"]
	if !present {
		return site != "cross-site" && site != "same-site"
	}
	if len(origin) != 1 {
		return false
	}
	switch origin[0] {
	case p.origin:
		return site == "" || site == "same-origin" || site == "none"
	case "null":
		return site == "same-origin"
	}
	return false
}
