package web

import (
	"context"
	stderrors "errors"
	"net/http"
	"net/netip"
	"net/url"

	"github.com/oauth2d/oauth2/internal/clientip"
	"github.com/oauth2d/oauth2/server"
)

// DeviceGrant is the user side of the device authorization grant (RFC 8628
// 3.3), as *server.Server provides it: the verification page looks up the
// user code a person typed, then records their answer.
type DeviceGrant interface {
	// LookupUserCode returns the pending request of a user code, counting
	// an unknown code as a failure of throttleKey (RFC 8628 5.1).
	LookupUserCode(ctx context.Context, userCode, throttleKey string) (*server.DeviceRequest, error)
	// ApproveDeviceCode lets the device's next poll get tokens for userID.
	ApproveDeviceCode(ctx context.Context, userCode, userID, scope string) error
	// DenyDeviceCode makes the device's next poll access_denied.
	DenyDeviceCode(ctx context.Context, userCode string) error
}

// Texts of the device pages.
const (
	msgNoUserCode   = "Enter the code shown on your device."
	msgBadUserCode  = "That code is not valid or has expired. Check the code on your device and try again."
	msgTooManyCodes = "Too many wrong codes were entered. Wait a few minutes, then try again."
	msgCodeMatch    = "Check that this is the code your device shows."
)

// Results of the device flow, shown by DeviceDone.
const (
	deviceApproved = "approved"
	deviceDenied   = "denied"
)

// Forms of the device pages, to which CSRF tokens are bound.
const (
	formDevice        = "device"
	formDeviceConsent = "device-consent"
)

// devicePath is the verification page (RFC 8628 3.2 verification_uri).
func (p *Pages) devicePath(userCode string) string {
	if userCode == "" || len(userCode) > maxUserCodeInput {
		return p.path("/device")
	}
	return p.path("/device") + "?" + url.Values{"user_code": {userCode}}.Encode()
}

// maxUserCodeInput bounds a user code taken from a request; longer input
// is no user code (server.NormalizeUserCode refuses it too).
const maxUserCodeInput = 64

// shownUserCode returns a user code as the page shows it: XXXX-XXXX when it
// is well formed, else as typed (bounded).
func shownUserCode(in string) string {
	if code, ok := server.NormalizeUserCode(in); ok {
		return server.FormatUserCode(code)
	}
	if len(in) > maxUserCodeInput {
		return ""
	}
	return in
}

// deviceThrottleKey names who is guessing user codes: the signed-in user at
// an address (its IPv6 /64). The page requires a sign-in, and users are
// provisioned by the operator, so the number of accounts bounds the
// guesses; the address keeps one user's guesses from one place from
// locking that user out of the page everywhere (a session would be renewed
// by signing in again).
func deviceThrottleKey(s session, addr netip.Addr) string {
	return "user\x00" + s.User + "\x00" + clientip.Group(addr).String()
}

// DeviceForm serves GET /device, the verification page of RFC 8628 3.3: a
// form whose input user_code the user_code query parameter fills in
// (verification_uri_complete, RFC 8628 3.3.1); the user still confirms it
// by sending the form, after checking it matches the device's. A browser
// without a session is sent to sign in first, and comes back here.
func (p *Pages) DeviceForm(w http.ResponseWriter, r *http.Request) {
	if p.device == nil {
		p.NotFound(w, r)
		return
	}
	typed := r.URL.Query().Get("user_code")
	s, ok := p.sessionOr(w, r, "device", func(w http.ResponseWriter) {
		p.redirect(w, r, p.path("/login")+"?"+url.Values{"return": {p.devicePath(shownUserCode(typed))}}.Encode())
	})
	if !ok {
		return
	}
	data := p.devicePage(s, shownUserCode(typed))
	if data.UserCode != "" {
		data.Message = msgCodeMatch
	}
	p.signOutForm(w, r, &data, s, data.Return)
	data.CSRF = p.csrfToken(p.csrfNonce(w, r), s.ID, formDevice)
	p.render(w, http.StatusOK, "device.html", data)
}

// devicePage fills the code entry form.
func (p *Pages) devicePage(s session, userCode string) page {
	return page{Title: "Connect a device", User: s.User, UserCode: userCode, Return: p.devicePath(userCode)}
}

// Device serves POST /device. Without a consent field it is the code entry
// form: the code is looked up (an unknown one counts against the user's
// guesses, RFC 8628 5.1) and the consent page shows the client and the
// scopes it asks for. With consent=allow or consent=deny it records the
// answer (RFC 8628 3.3), after looking the code up again so that posting
// guesses straight to the consent form is throttled too, and answers 303 to
// the result page.
func (p *Pages) Device(w http.ResponseWriter, r *http.Request) {
	if p.device == nil {
		p.NotFound(w, r)
		return
	}
	ctx := r.Context()
	s, ok := p.readSessionForm(w, r, "device", func(w http.ResponseWriter) {
		p.Error(w, http.StatusForbidden, "Signed out", "Your session has ended. Open the address shown on your device again.")
	})
	if !ok {
		return
	}
	typed := r.PostForm.Get("user_code")
	decision, deciding := r.PostForm["consent"]
	form := formDevice
	if deciding {
		form = formDeviceConsent
	}
	again := func(status int, msg string) {
		data := p.devicePage(s, shownUserCode(typed))
		data.Error = msg
		p.signOutForm(w, r, &data, s, data.Return)
		data.CSRF = p.csrfToken(p.csrfNonce(w, r), s.ID, formDevice)
		p.render(w, status, "device.html", data)
	}
	if !p.sameOrigin(r) {
		p.log.Warn("device form refused", "reason", "cross-origin")
		again(http.StatusForbidden, errCrossOrigin.Error())
		return
	}
	if err := p.checkCSRF(ctx, r, s.ID, form); err != nil {
		if !isFormError(err) {
			p.log.Error("device: CSRF check", "err", err)
			again(http.StatusServiceUnavailable, msgUnavailable)
			return
		}
		p.log.Warn("device form refused", "reason", "csrf")
		again(http.StatusForbidden, err.Error())
		return
	}
	if typed == "" {
		again(http.StatusBadRequest, msgNoUserCode)
		return
	}
	req, err := p.device.LookupUserCode(ctx, typed, deviceThrottleKey(s, p.clientAddr(r)))
	if !p.deviceOK(err, again) {
		return
	}
	if !deciding {
		p.deviceConsent(w, r, s, req, "", http.StatusOK)
		return
	}
	result := deviceApproved
	switch decision[0] {
	case "allow":
		err = p.device.ApproveDeviceCode(ctx, req.UserCode, s.User, "")
	case "deny":
		result = deviceDenied
		err = p.device.DenyDeviceCode(ctx, req.UserCode)
	default:
		p.deviceConsent(w, r, s, req, "Choose Allow or Deny.", http.StatusBadRequest)
		return
	}
	if !p.deviceOK(err, again) {
		return
	}
	p.log.Info("device authorization answered", "client_id", req.ClientID, "result", result)
	p.redirect(w, r, p.path("/device/done")+"?result="+result)
}

// deviceOK reports whether err is nil; otherwise it shows the code entry
// form with what went wrong.
func (p *Pages) deviceOK(err error, again func(int, string)) bool {
	switch {
	case err == nil:
		return true
	case stderrors.Is(err, server.ErrUserCodeThrottled):
		p.log.Warn("device: user code guessing throttled")
		again(http.StatusTooManyRequests, msgTooManyCodes)
	case stderrors.Is(err, server.ErrUserCodeInvalid):
		p.log.Warn("device: invalid user code")
		again(http.StatusBadRequest, msgBadUserCode)
	default:
		p.log.Error("device: user code", "err", err)
		again(http.StatusServiceUnavailable, msgUnavailable)
	}
	return false
}

// deviceConsent shows the consent page for a device's request: the same
// page as for an authorization request, posting back to /device with the
// user code.
func (p *Pages) deviceConsent(w http.ResponseWriter, r *http.Request, s session, req *server.DeviceRequest, msg string, status int) {
	data := page{
		Title:    "Authorize " + req.ClientID,
		Error:    msg,
		ClientID: req.ClientID,
		Scopes:   scopeList(req.Scope),
		UserCode: req.UserCode,
		Return:   p.devicePath(req.UserCode),
		Action:   p.path("/device"),
	}
	p.signOutForm(w, r, &data, s, data.Return)
	data.CSRF = p.csrfToken(p.csrfNonce(w, r), s.ID, formDeviceConsent)
	p.render(w, status, "consent.html", data)
}

// DeviceDone serves GET /device/done, the page after the user answered:
// they can go back to their device.
func (p *Pages) DeviceDone(w http.ResponseWriter, r *http.Request) {
	if p.device == nil {
		p.NotFound(w, r)
		return
	}
	data := page{Title: "Device connected", Message: "You can return to your device."}
	switch r.URL.Query().Get("result") {
	case deviceApproved:
	case deviceDenied:
		data.Title = "Access denied"
		data.Message = "The device was not given access. You can close this page."
		data.Denied = true
	default:
		p.NotFound(w, r)
		return
	}
	p.render(w, http.StatusOK, "device-done.html", data)
}
