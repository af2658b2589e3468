package main

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"strings"
	"time"
)

// sessionCookie is the name of the authorization server's session cookie.
const sessionCookie = "authserver_session"

// sessionTTL bounds a sign-in.
const sessionTTL = time.Hour

// session is what the authorization server remembers about a browser, kept
// in a cookie signed with HMAC-SHA256 so that the browser can read it but
// not change it. It holds no secret.
type session struct {
	// User is the signed-in user, "" before sign-in.
	User string `json:"u,omitempty"`
	// CSRF is the token the login and consent forms must send back.
	CSRF string `json:"c"`
	// Pending is the authorization request waiting for sign-in or consent,
	// as its form-encoded parameters.
	Pending string `json:"p,omitempty"`
	// Consent is the user's decision on Pending: "allow" or "deny".
	Consent string `json:"d,omitempty"`
	// Expires is when the session ends, in Unix seconds.
	Expires int64 `json:"e"`
}

// sessions signs and verifies session cookies.
type sessions struct {
	key []byte
	now func() time.Time
}

func newSessions() *sessions {
	key := make([]byte, 32)
	rand.Read(key)
	return &sessions{key: key, now: time.Now}
}

func (s *sessions) mac(payload string) []byte {
	m := hmac.New(sha256.New, s.key)
	m.Write([]byte(payload))
	return m.Sum(nil)
}

// load returns the request's session, or a new one when the cookie is
// missing, forged or expired.
func (s *sessions) load(r *http.Request) *session {
	if c, err := r.Cookie(sessionCookie); err == nil {
		payload, sig, ok := strings.Cut(c.Value, ".")
		mac, err := base64.RawURLEncoding.DecodeString(sig)
		if ok && err == nil && hmac.Equal(mac, s.mac(payload)) {
			if raw, err := base64.RawURLEncoding.DecodeString(payload); err == nil {
				var sess session
				if json.Unmarshal(raw, &sess) == nil && s.now().Unix() < sess.Expires {
					return &sess
				}
			}
		}
	}
	return &session{CSRF: rand.Text(), Expires: s.now().Add(sessionTTL).Unix()}
}

// save writes the session cookie.
func (s *sessions) save(w http.ResponseWriter, r *http.Request, sess *session) {
	raw, _ := json.Marshal(sess)
	payload := base64.RawURLEncoding.EncodeToString(raw)
	http.SetCookie(w, &http.Cookie{
		Name:     sessionCookie,
		Value:    payload + "." + base64.RawURLEncoding.EncodeToString(s.mac(payload)),
		Path:     "/",
		Expires:  time.Unix(sess.Expires, 0),
		HttpOnly: true,
		Secure:   r.TLS != nil,
		// Lax: the cookie goes with the top-level GET that brings the
		// browser back from the client, never with a cross-site POST.
		SameSite: http.SameSiteLaxMode,
	})
}
