package web

import (
	"crypto/hmac"
	"encoding/json"
	"net/http"
	"strings"
	"time"
)

// session is the signed content of the session cookie.
type session struct {
	// ID is random, fresh at every login, so that a session cookie set
	// before a login is never the one after it (session fixation).
	ID string `json:"sid"`
	// User is the user ID.
	User string `json:"sub"`
	// AuthTime is when the user signed in, in Unix seconds.
	AuthTime int64 `json:"iat"`
	// Expires is when the session ends, in Unix seconds.
	Expires int64 `json:"exp"`
}

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

const sessionCookie = "oauth2d_session"

// encodeSession signs s: base64url(JSON) "." base64url(HMAC-SHA256).
func (p *Pages) encodeSession(s session) string {
	payload, _ := json.Marshal(s) // a struct of strings and ints always encodes
	enc := b64.EncodeToString(payload)
	return enc + "." + b64.EncodeToString(mac(p.sessionKey, "session", enc))
}

// readSession returns the session of the request's cookie, and false when
// there is none, its signature does not verify or it has expired.
func (p *Pages) readSession(r *http.Request) (session, bool) {
	v := p.cookie(r, sessionCookie)
	enc, sig, ok := strings.Cut(v, ".")
	if !ok {
		return session{}, false
	}
	got, err := b64.DecodeString(sig)
	if err != nil || !hmac.Equal(got, mac(p.sessionKey, "session", enc)) {
		return session{}, false
	}
	payload, err := b64.DecodeString(enc)
	if err != nil {
		return session{}, false
	}
	var s session
	if err := json.Unmarshal(payload, &s); err != nil || s.ID == "" || s.User == "" {
		return session{}, false
	}
	if p.now().Unix() >= s.Expires {
		return session{}, false
	}
	return s, true
}

// startSession signs the user in with a fresh session.
func (p *Pages) startSession(w http.ResponseWriter, user string) session {
	now := p.now()
	s := session{ID: randomID(16), User: user, AuthTime: now.Unix(), Expires: now.Add(p.sessionTTL).Unix()}
	p.setCookie(w, sessionCookie, p.encodeSession(s), p.sessionTTL)
	return s
}
