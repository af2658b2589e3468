package web

import (
	"context"
	"crypto/hmac"
	"encoding/json"
	stderrors "errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/oauth2d/oauth2"
)

// Sessions are kept server-side, in the KVStore that every process shares
// (docs/architecture.md section 2.5): the cookie holds only a random handle,
// signed so that a forged cookie costs no store round trip. Two entries
// make a session:
//
//   - the record (who, since when, until when), stored once at sign-in with
//     the absolute lifetime as its TTL;
//   - the "alive" mark, whose TTL is the idle timeout and which a page view
//     renews (at most once a minute).
//
// A session is live while both are. Ending it deletes both, in every
// process at once; a renewal racing with the end can bring back only the
// mark, never the record, so an ended session stays ended.

// session is a signed-in browser.
type session struct {
	// handle is the cookie's secret; it is never stored (the store keys
	// are hashes of it) and never put in a token.
	handle string
	// ID is the session ID of ID tokens (sid, OpenID Connect Front-Channel
	// Logout 1.0 3): random, fresh at every sign-in, and not the handle.
	ID string `json:"sid"`
	// User is the user ID.
	User string `json:"sub"`
	// AuthTime is when the user signed in, in Unix seconds (OpenID Connect
	// Core 1.0 2 auth_time).
	AuthTime int64 `json:"at"`
	// AuthNano is AuthTime in Unix nanoseconds, to compare with the time
	// the user's earlier sessions were ended (Config.SignInsNotBefore).
	AuthNano int64 `json:"atn,omitempty"`
	// Expires is when the session ends whatever its use, in Unix seconds.
	Expires int64 `json:"exp"`

	// notBefore is the earliest sign-in and consent that count for User
	// (Config.SignInsNotBefore), read with the session.
	notBefore time.Time
}

// signedIn returns when the session signed in.
func (s session) signedIn() time.Time {
	if s.AuthNano != 0 {
		return time.Unix(0, s.AuthNano)
	}
	return time.Unix(s.AuthTime, 0)
}

// userNotBefore returns the earliest sign-in that counts for user (zero:
// any), and false when the user may not be signed in at all (deleted or
// disabled).
func (p *Pages) userNotBefore(ctx context.Context, user string) (time.Time, bool, error) {
	if _, ok := p.users.hashes[user]; ok || p.notBefore == nil {
		// A user of the directory itself stays as long as the process.
		return time.Time{}, true, nil
	}
	t, err := p.notBefore(ctx, user)
	switch {
	case stderrors.Is(err, oauth2.ErrNotFound):
		return time.Time{}, false, nil
	case err != nil:
		return time.Time{}, false, fmt.Errorf("web: read the user of a session: %w", err)
	}
	return t, true, nil
}

const (
	sessionCookie = "oauth2d_session"
	// handleBytes is the randomness of a session handle.
	handleBytes = 32
	// maxSessionCookie bounds the cookie value read.
	maxSessionCookie = 128
)

func sessionKey(handle string) string { return hashKey("oauth2d/web/session/", handle) }
func aliveKey(handle string) string   { return hashKey("oauth2d/web/session-alive/", handle) }

// cookieName returns the name of a cookie: with the __Host- prefix when
// the cookie is Secure and for the whole host, which keeps subdomains and
// plain-http pages from setting it (RFC 6265bis 4.1.3.2).
func (p *Pages) cookieName(base string) string {
	if p.secure && p.base == "" {
		return "__Host-" + base
	}
	return base
}

func (p *Pages) cookiePath() string {
	if p.base == "" {
		return "/"
	}
	return p.base + "/"
}

// setCookie sets an HttpOnly, SameSite=Lax cookie, Secure when the issuer
// is https. maxAge 0 makes a cookie that ends with the browser session; a
// negative maxAge deletes it.
func (p *Pages) setCookie(w http.ResponseWriter, base, value string, maxAge time.Duration) {
	c := &http.Cookie{
		Name:     p.cookieName(base),
		Value:    value,
		Path:     p.cookiePath(),
		HttpOnly: true,
		Secure:   p.secure,
		SameSite: http.SameSiteLaxMode,
	}
	switch {
	case maxAge < 0:
		c.MaxAge = -1
	case maxAge > 0:
		c.MaxAge = int(maxAge / time.Second)
	}
	http.SetCookie(w, c)
}

func (p *Pages) cookie(r *http.Request, base string) string {
	c, err := r.Cookie(p.cookieName(base))
	if err != nil {
		return ""
	}
	return c.Value
}

// sessionCookieValue is the cookie of a handle: handle "." base64url(HMAC).
func (p *Pages) sessionCookieValue(handle string) string {
	return handle + "." + b64.EncodeToString(mac(p.sessionKey, "session", handle))
}

// cookieHandle returns the handle of the request's session cookie when its
// signature verifies, "" otherwise.
func (p *Pages) cookieHandle(r *http.Request) string {
	v := p.cookie(r, sessionCookie)
	if len(v) > maxSessionCookie {
		return ""
	}
	handle, sig, ok := strings.Cut(v, ".")
	if !ok || handle == "" {
		return ""
	}
	got, err := b64.DecodeString(sig)
	if err != nil || !hmac.Equal(got, mac(p.sessionKey, "session", handle)) {
		return ""
	}
	return handle
}

// touchEvery is how often a page view renews a session's idle timeout:
// the timeout is exact to this much.
func (p *Pages) touchEvery() time.Duration {
	return min(p.sessionIdle/8, time.Minute)
}

// readSession returns the live session of the request's cookie; false when
// there is none (no cookie, a forged one, an ended, expired or idle
// session, or one whose user was since deleted or disabled or signed out
// everywhere: Config.SignInsNotBefore). An error is the store's: the caller cannot tell whether the
// user is signed in.
func (p *Pages) readSession(r *http.Request) (session, bool, error) {
	handle := p.cookieHandle(r)
	if handle == "" {
		return session{}, false, nil
	}
	ctx := r.Context()
	v, err := p.kv.Get(ctx, sessionKey(handle))
	switch {
	case stderrors.Is(err, oauth2.ErrNotFound):
		return session{}, false, nil
	case err != nil:
		return session{}, false, fmt.Errorf("web: read session: %w", err)
	}
	var s session
	now := p.now()
	if json.Unmarshal(v, &s) != nil || s.ID == "" || s.User == "" || now.Unix() >= s.Expires {
		return session{}, false, nil
	}
	s.handle = handle
	nb, ok, err := p.userNotBefore(ctx, s.User)
	if err != nil {
		return session{}, false, err
	}
	if !ok || s.signedIn().Before(nb) {
		// Its user was deleted, disabled or signed out everywhere: the
		// session is over.
		if err := p.deleteSession(ctx, handle); err != nil {
			p.log.Warn("session: remove a session of a user signed out", "err", err)
		}
		return session{}, false, nil
	}
	s.notBefore = nb
	seen, err := p.kv.Get(ctx, aliveKey(handle))
	switch {
	case stderrors.Is(err, oauth2.ErrNotFound):
		// Idle for longer than the idle timeout: the record goes too.
		if err := p.kv.Delete(ctx, sessionKey(handle)); err != nil {
			p.log.Warn("session: remove an idle session", "err", err)
		}
		return session{}, false, nil
	case err != nil:
		return session{}, false, fmt.Errorf("web: read session: %w", err)
	}
	if last, err := strconv.ParseInt(string(seen), 10, 64); err != nil || now.Sub(time.Unix(last, 0)) >= p.touchEvery() {
		if err := p.markAlive(ctx, s, now); err != nil {
			// The session stays live until its mark expires.
			p.log.Warn("session: renew the idle timeout", "err", err)
		}
	}
	return s, true, nil
}

// currentSession is readSession for pages that only show who is signed
// in: a store error is logged and reads as signed out.
func (p *Pages) currentSession(r *http.Request) (session, bool) {
	s, ok, err := p.readSession(r)
	if err != nil {
		p.log.Error("session", "err", err)
	}
	return s, ok
}

// markAlive renews the idle timeout of s from now, within its lifetime.
func (p *Pages) markAlive(ctx context.Context, s session, now time.Time) error {
	ttl := min(p.sessionIdle, time.Unix(s.Expires, 0).Sub(now))
	if ttl <= 0 {
		return nil
	}
	return p.kv.Put(ctx, aliveKey(s.handle), strconv.AppendInt(nil, now.Unix(), 10), ttl)
}

// startSession signs user in with a fresh session, ending the one the
// browser had: a new handle and a new sid at every sign-in, so that a
// cookie planted before it is never the one after it (session fixation).
func (p *Pages) startSession(ctx context.Context, w http.ResponseWriter, r *http.Request, user string) (session, error) {
	if old := p.cookieHandle(r); old != "" {
		if err := p.deleteSession(ctx, old); err != nil {
			return session{}, err
		}
	}
	now := p.now()
	s := session{handle: randomID(handleBytes), ID: randomID(16), User: user, AuthTime: now.Unix(), AuthNano: now.UnixNano(), Expires: now.Add(p.sessionTTL).Unix()}
	v, _ := json.Marshal(s) // strings and integers always encode
	if err := p.kv.Put(ctx, sessionKey(s.handle), v, p.sessionTTL); err != nil {
		return session{}, fmt.Errorf("web: store session: %w", err)
	}
	if err := p.markAlive(ctx, s, now); err != nil {
		return session{}, fmt.Errorf("web: store session: %w", err)
	}
	p.setCookie(w, sessionCookie, p.sessionCookieValue(s.handle), p.sessionTTL)
	return s, nil
}

// deleteSession removes the session of handle from the store: it ends in
// every process.
func (p *Pages) deleteSession(ctx context.Context, handle string) error {
	if err := p.kv.Delete(ctx, sessionKey(handle)); err != nil {
		return fmt.Errorf("web: end session: %w", err)
	}
	if err := p.kv.Delete(ctx, aliveKey(handle)); err != nil {
		// The record is gone: the session has ended.
		p.log.Warn("session: remove the idle mark", "err", err)
	}
	return nil
}

// endSession ends the request's session, if any, and clears its cookie.
func (p *Pages) endSession(w http.ResponseWriter, r *http.Request) error {
	if handle := p.cookieHandle(r); handle != "" {
		if err := p.deleteSession(r.Context(), handle); err != nil {
			return err
		}
	}
	p.setCookie(w, sessionCookie, "", -1)
	return nil
}
