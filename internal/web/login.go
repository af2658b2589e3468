package web

import (
	"context"
	stderrors "errors"
	"net/http"
	"net/netip"
	"net/url"
	"path"
	"strconv"
	"strings"
	"time"

	"github.com/oauth2d/oauth2/internal/secret"
	"github.com/oauth2d/oauth2/internal/throttle"
	"github.com/oauth2d/oauth2/oidc"
)

// maxFormBytes limits the body of the login and consent forms.
const maxFormBytes = 16 << 10

// Texts of the login page.
const (
	msgEmptyFields = "Enter your username and password."
	msgBadLogin    = "The username or password is incorrect."
	msgTooMany     = "Too many attempts, try again later."
	msgUnavailable = "The service is temporarily unavailable. Please try again in a moment."
	msgBusy        = "Too many people are signing in right now. Please try again in a moment."
	msgBadReturn   = "This sign-in link is not valid. Go back to the application and start again."
)

// safeReturn reports whether ret is a path on this server that a login may
// return to: relative to our origin (no scheme, no host, not
// protocol-relative), under the issuer's path, with no backslash, control
// character or fragment that a browser might read differently, and no dot
// segment (plain or percent-encoded) that a browser would resolve to a path
// outside the issuer's.
func (p *Pages) safeReturn(ret string) bool {
	if ret == "" || ret[0] != '/' || strings.HasPrefix(ret, "//") || strings.HasPrefix(ret, "/\\") {
		return false
	}
	if strings.ContainsFunc(ret, func(r rune) bool { return r < 0x20 || r == 0x7f || r == '\\' || r == '#' }) {
		return false
	}
	u, err := url.Parse(ret)
	if err != nil || u.Scheme != "" || u.Host != "" || u.User != nil || u.Fragment != "" {
		return false
	}
	if u.Path != path.Clean(u.Path) {
		return false
	}
	return p.base == "" || u.Path == p.base || strings.HasPrefix(u.Path, p.base+"/")
}

// authorizeReturn parses ret when it is an authorization request of ours,
// and returns its parameters.
func (p *Pages) authorizeReturn(ret string) (url.Values, bool) {
	if !p.safeReturn(ret) {
		return nil, false
	}
	u, _ := url.Parse(ret)
	if u.Path != p.path("/authorize") {
		return nil, false
	}
	q, err := url.ParseQuery(u.RawQuery)
	if err != nil {
		return nil, false
	}
	return q, true
}

// loginPage fills the parts of the login page that describe the
// authorization request being signed in for.
func (p *Pages) loginPage(ctx context.Context, ret string) page {
	data := page{Title: "Sign in", Return: ret}
	if q, ok := p.authorizeReturn(ret); ok {
		if cli, err := p.client(ctx, q.Get("client_id")); err == nil && cli != nil {
			data.ClientID = cli.GetID()
		}
	} else if p.device != nil && p.safeReturn(ret) {
		if u, err := url.Parse(ret); err == nil && u.Path == p.path("/device") {
			data.Message = "to connect a device"
		}
	}
	return data
}

// LoginForm serves GET /login: the sign-in form. The authorization
// endpoint sends the browser here with the request to return to, its
// login_hint (OpenID Connect Core 1.0 3.1.2.1), which fills in the
// username, and the reason when someone is already signed in (prompt=login,
// max_age, another account named). A signed-in user sees who they are,
// with a form to sign out.
func (p *Pages) LoginForm(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	ret := q.Get("return")
	if ret != "" && !p.safeReturn(ret) {
		p.Error(w, http.StatusBadRequest, "Invalid sign-in link", msgBadReturn)
		return
	}
	data := p.loginPage(r.Context(), ret)
	if hint := q.Get("login_hint"); len(hint) <= oidc.MaxLoginHintLength && !strings.ContainsFunc(hint, isControl) {
		data.Username = hint
	}
	data.Reason = loginReasonText(q.Get("reason"))
	if s, ok := p.currentSession(r); ok {
		p.signOutForm(w, r, &data, s, ret)
	}
	data.CSRF = p.csrfToken(p.csrfNonce(w, r), "", "login")
	p.render(w, http.StatusOK, "login.html", data)
}

func isControl(r rune) bool { return r < 0x20 || r == 0x7f }

// Login serves POST /login: it checks the form, the CSRF token and the
// credentials, and on success starts a session and answers 303 to the
// return path.
func (p *Pages) Login(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
	if err := r.ParseForm(); err != nil {
		p.Error(w, http.StatusBadRequest, "Invalid form", "The form could not be read. Please try again.")
		return
	}
	ret := r.PostForm.Get("return")
	if ret != "" && !p.safeReturn(ret) {
		p.Error(w, http.StatusBadRequest, "Invalid sign-in link", msgBadReturn)
		return
	}
	username := r.PostForm.Get("username")
	again := func(status int, msg string) {
		data := p.loginPage(ctx, ret)
		data.Error = msg
		data.Username = username
		data.CSRF = p.csrfToken(p.csrfNonce(w, r), "", "login")
		p.render(w, status, "login.html", data)
	}
	if !p.sameOrigin(r) {
		p.log.Warn("login form refused", "reason", "cross-origin")
		again(http.StatusForbidden, errCrossOrigin.Error())
		return
	}
	if err := p.checkCSRF(ctx, r, "", "login"); err != nil {
		if !isFormError(err) {
			p.log.Error("login: CSRF check", "err", err)
			again(http.StatusServiceUnavailable, msgUnavailable)
			return
		}
		p.log.Warn("login form refused", "reason", "csrf")
		again(http.StatusForbidden, err.Error())
		return
	}
	password := r.PostForm.Get("password")
	if username == "" || password == "" {
		again(http.StatusBadRequest, msgEmptyFields)
		return
	}
	userID, err := p.Authenticate(ctx, username, password, p.clientAddr(r))
	switch {
	case err == nil:
	case stderrors.Is(err, ErrThrottled):
		var te *ThrottledError
		if stderrors.As(err, &te) {
			w.Header().Set("Retry-After", strconv.Itoa(max(1, int(te.RetryAfter.Round(time.Second)/time.Second))))
		}
		again(http.StatusTooManyRequests, msgTooMany)
		return
	case stderrors.Is(err, ErrBadCredentials):
		again(http.StatusBadRequest, msgBadLogin)
		return
	case stderrors.Is(err, secret.ErrBusy):
		p.log.Warn("login: no turn to verify the password in time")
		w.Header().Set("Retry-After", "1")
		again(http.StatusServiceUnavailable, msgBusy)
		return
	default:
		p.log.Error("login", "err", err)
		again(http.StatusServiceUnavailable, msgUnavailable)
		return
	}
	s, err := p.startSession(ctx, w, r, userID)
	if err == nil {
		if _, ok := p.authorizeReturn(ret); ok {
			// The authorization request sees that the user signed in
			// for it (prompt=login, max_age).
			err = p.markLogin(ctx, s.ID, ret)
		}
	}
	if err != nil {
		p.log.Error("login: start session", "err", err)
		again(http.StatusServiceUnavailable, msgUnavailable)
		return
	}
	if ret == "" {
		ret = p.path("/")
	}
	p.redirect(w, r, ret)
}

func isFormError(err error) bool {
	return err == errCSRFInvalid || err == errCSRFExpired || err == errCSRFReplayed
}

// ErrBadCredentials: the username or the password is wrong.
var ErrBadCredentials = stderrors.New("web: bad credentials")

// ErrThrottled is matched by the error of a login refused because its
// username failed too often from its address.
var ErrThrottled = throttle.ErrThrottled

// ThrottledError is returned by Authenticate while a username is refused
// from an address; it matches ErrThrottled.
type ThrottledError struct{ RetryAfter time.Duration }

func (e *ThrottledError) Error() string { return ErrThrottled.Error() }

// Is reports whether target is ErrThrottled.
func (e *ThrottledError) Is(target error) bool { return target == ErrThrottled }

// Authenticate checks a username and password from a client at addr. The
// attempt is counted before the password is verified (throttle.Limiter):
// after repeated failures of the username from addr the answer is slowed,
// then the username is refused from addr with a *ThrottledError until the
// window has passed, while it still works from other addresses; failures
// of the username from every address only slow its failed attempts. It
// returns the user ID, ErrBadCredentials, secret.ErrBusy when no turn to
// hash came in time, or a store error. The password grant (RFC 6749 4.3.2)
// uses it as well as the login form.
func (p *Pages) Authenticate(ctx context.Context, username, password string, addr netip.Addr) (string, error) {
	res, err := p.throttle.Reserve(ctx, username, addr)
	if err != nil {
		var le *throttle.LockedError
		if stderrors.As(err, &le) {
			p.log.Warn("login throttled")
			return "", &ThrottledError{RetryAfter: le.RetryAfter}
		}
		return "", err
	}
	ok, err := p.users.Verify(ctx, username, password)
	if err != nil {
		return "", err
	}
	if ok {
		if err := res.Succeed(ctx); err != nil {
			return "", err
		}
		return username, nil
	}
	delay, locked, err := res.Fail(ctx)
	p.log.Warn("login failed")
	throttle.Wait(ctx, delay)
	if err != nil {
		return "", err
	}
	if locked {
		return "", &ThrottledError{RetryAfter: p.throttle.EffectiveWindow()}
	}
	return "", ErrBadCredentials
}
