package server

import (
	"context"
	stderrors "errors"
	"net/http"
	"net/url"
	"time"

	"github.com/oauth2d/oauth2"
	"github.com/oauth2d/oauth2/errors"
	"github.com/oauth2d/oauth2/oidc"
	"github.com/oauth2d/oauth2/policy"
)

// Interaction is what the server asks of a UserAuthenticationHandler.
type Interaction uint8

// Interactions of a UserAuthenticationHandler.
const (
	// InteractionNone: the server asks who is signed in at the user agent
	// and whether they consented. The handler must write nothing: no page,
	// no redirect (it may set headers, such as a refreshed session
	// cookie).
	InteractionNone Interaction = iota
	// InteractionLogin: the End-User must authenticate (AuthorizeRequest.Reason
	// says why). The handler writes the login page, or a redirect to it.
	InteractionLogin
	// InteractionConsent: the End-User must consent to the client and
	// scope of the request. The handler writes the consent page, or a
	// redirect to it.
	InteractionConsent
)

func (i Interaction) String() string {
	switch i {
	case InteractionNone:
		return "none"
	case InteractionLogin:
		return "login"
	case InteractionConsent:
		return "consent"
	}
	return "unknown"
}

// Authentication is what a UserAuthenticationHandler tells the server of the
// End-User behind the user agent, for one authorization request.
type Authentication struct {
	// UserID is the signed-in End-User; "" when nobody is signed in.
	UserID string
	// AuthTime is when the End-User last authenticated (OpenID Connect
	// Core 1.0 2 auth_time); zero when unknown, which max_age counts as
	// too long ago. It goes into the ID tokens of the grant.
	AuthTime time.Time
	// ACR is the Authentication Context Class Reference the
	// authentication satisfied, and AMR the methods it used (Core 2, RFC
	// 8176), each without spaces; empty when unknown. They go into the ID
	// tokens of the grant. The handler chooses them from what the request
	// asks for (AuthorizeRequest.OpenID.ACRValues, and the acr member of
	// its claims request).
	ACR string
	AMR []string
	// SessionID is the End-User's session at the server, the sid of the
	// grant's ID tokens (OpenID Connect Front-Channel Logout 1.0 3);
	// "" for none.
	SessionID string
	// Consented reports that the End-User's consent to the request's
	// client and scope is on record.
	Consented bool
	// AuthenticatedNow reports that the End-User authenticated during
	// this authorization request, on the login page the server asked for:
	// it satisfies prompt=login, prompt=select_account and max_age, which
	// would otherwise send the End-User back to the login page forever.
	// With AuthTime zero, the auth_time of the grant is then now.
	AuthenticatedNow bool
	// ConsentedNow reports that the End-User consented during this
	// authorization request, on the consent page the server asked for: it
	// satisfies prompt=consent.
	ConsentedNow bool
	// Scope is the scope the End-User granted, within the requested one
	// (a consent page may let them leave out some values); "" keeps the
	// requested scope. An OpenID Connect request keeps openid.
	Scope string
}

// UserAuthenticationHandler tells the server who the End-User at the
// authorization endpoint is and shows the pages the server asks for; the
// server decides from the request, by OAuth 2.0 and OpenID Connect rules,
// whether it can answer the client or what the End-User must do first. It
// replaces the seed's UserAuthorizationHandler, which decided everything
// itself, and is needed for OpenID Connect requests that constrain the
// session (prompt, max_age, id_token_hint).
//
// The server validates the request first (client, redirect_uri,
// response_type, scope, PKCE; for OpenID Connect the parameters of Core
// 3.1.2.1 into req.OpenID and the verified id_token_hint into
// req.IDTokenHint), then calls the handler at most twice:
//
//  1. With req.Interaction == InteractionNone, to learn who is signed in.
//     The handler returns an Authentication describing the session (nil,
//     or a UserID of "", when nobody is) and whether the End-User
//     consented to req's client and scope, and writes nothing: a write
//     makes the request fail with server_error, since with prompt=none
//     nothing may be shown (Core 3.1.2.1). Returning an error (such as
//     errors.ErrAccessDenied when the End-User refused on the consent
//     page) sends that error to the client.
//
//  2. Only when the End-User must act and the request allows a page: with
//     req.Interaction == InteractionLogin when nobody is signed in
//     (req.Reason oidc.ReasonNoSession), prompt=login or select_account
//     (ReasonPromptLogin), the session is older than max_age
//     (ReasonMaxAge), or the id_token_hint or a requested sub names
//     another End-User (ReasonOtherUser); with InteractionConsent when no
//     consent is on record (ReasonNoConsent) or prompt=consent
//     (ReasonPromptConsent). The handler writes that page, or a redirect
//     to it, and returns (nil, nil); it may also return an error for the
//     client. The page, once done, sends the user agent back to the
//     authorization endpoint with the same parameters; then call 1 must
//     report AuthenticatedNow (after the login page) or ConsentedNow
//     (after the consent page), which satisfy prompt and max_age.
//
// Under prompt=none call 2 never happens: the server answers the client
// login_required (nobody signed in, session older than max_age, another
// End-User named) or consent_required (no consent on record), redirected
// with state and iss (Core 3.1.2.6, RFC 9207). A login during the request
// that still yields another End-User than the one named is login_required
// too. Otherwise the server issues what the response type asks for, to
// Authentication.UserID, keeping AuthTime, ACR, AMR and SessionID, with
// the nonce and claims request, in the grant's extension data for its ID
// tokens (oidc.GrantInfo).
//
// For OAuth 2.0 requests (no openid scope, or a server that is no OpenID
// Provider) the same calls happen with the plain rules: login when nobody
// is signed in, consent when none is on record.
type UserAuthenticationHandler func(w http.ResponseWriter, r *http.Request, req *AuthorizeRequest) (*Authentication, error)

// SetUserAuthenticationHandler sets the UserAuthenticationHandler, which,
// when set, is used instead of the UserAuthorizationHandler.
func (s *Server) SetUserAuthenticationHandler(handler UserAuthenticationHandler) {
	s.UserAuthenticationHandler = handler
}

// Errors of the End-User's authentication.
var (
	errHandlerWrote      = stderrors.New("server: the UserAuthenticationHandler wrote a response when asked who is signed in (InteractionNone)")
	errHandlerAuthOnPage = stderrors.New("server: the UserAuthenticationHandler returned an Authentication when asked to show a page")
	errGrantedScope      = stderrors.New("server: the UserAuthenticationHandler granted a scope outside the requested one")

	errLegacyPromptNone = errors.WithDescription(errors.ErrInteractionRequired,
		"This server cannot tell without showing a page whether an End-User is signed in")
	errLegacyAuthTime = errors.WithDescription(errors.ErrLoginRequired,
		"This server cannot tell when the End-User authenticated, which prompt=login and max_age require")
)

// authorizeUser returns the End-User to authorize req for, or "" when the
// handler has written the response (a page).
func (s *Server) authorizeUser(w http.ResponseWriter, r *http.Request, req *AuthorizeRequest) (string, error) {
	if fn := s.UserAuthenticationHandler; fn != nil {
		return s.authenticateUser(w, r, req, fn)
	}
	if s.UserAuthorizationHandler == nil {
		return "", errNoUserAuthentication
	}
	o := req.OpenID
	if o != nil {
		// The seed's handler authenticates and asks consent as it sees fit
		// and says nothing of when: what OpenID Connect asks of the
		// session it cannot promise.
		if o.Prompt.Has(oidc.PromptNone) {
			return "", errLegacyPromptNone
		}
		if o.Prompt.Has(oidc.PromptLogin|oidc.PromptSelectAccount) || o.HasMaxAge {
			return "", errLegacyAuthTime
		}
	}
	userID, err := s.UserAuthorizationHandler(w, r)
	if err != nil || userID == "" || o == nil {
		return userID, err
	}
	auth := &Authentication{UserID: userID, AuthenticatedNow: true, ConsentedNow: true}
	if err := s.checkOpenIDSession(r.Context(), req, auth); err != nil {
		return "", err
	}
	req.auth = auth
	return userID, s.keepGrantInfo(req)
}

// checkOpenIDSession refuses auth when the id_token_hint or a requested
// sub names another End-User (Core 3.1.2.1, 5.5.1).
func (s *Server) checkOpenIDSession(ctx context.Context, req *AuthorizeRequest, auth *Authentication) error {
	_, _, err := s.decide(ctx, req, auth)
	return err
}

// authenticateUser runs the protocol of UserAuthenticationHandler.
func (s *Server) authenticateUser(w http.ResponseWriter, r *http.Request, req *AuthorizeRequest, fn UserAuthenticationHandler) (string, error) {
	req.Interaction, req.Reason = InteractionNone, oidc.ReasonNone
	hw := headerOnlyWriter{w: w}
	auth, err := fn(&hw, r, req)
	if hw.wrote {
		return "", errHandlerWrote
	}
	if err != nil {
		return "", err
	}
	if auth == nil {
		auth = &Authentication{}
	}
	action, reason, err := s.decide(r.Context(), req, auth)
	if err != nil {
		return "", err
	}
	switch action {
	case oidc.Proceed:
		if err := grantScope(req, auth.Scope); err != nil {
			return "", err
		}
		req.auth = auth
		if req.OpenID != nil {
			if err := s.keepGrantInfo(req); err != nil {
				return "", err
			}
		}
		return auth.UserID, nil
	case oidc.Login:
		req.Interaction = InteractionLogin
	default:
		req.Interaction = InteractionConsent
	}
	req.Reason = reason
	again, err := fn(w, r, req)
	if err != nil {
		return "", err
	}
	if again != nil {
		return "", errHandlerAuthOnPage
	}
	return "", nil
}

// decide tells what must happen with req for the session auth: the
// decision of oidc.AuthRequest.Evaluate for an OpenID Connect request, and
// for an OAuth 2.0 one login without a user and consent without consent.
func (s *Server) decide(ctx context.Context, req *AuthorizeRequest, auth *Authentication) (oidc.Action, oidc.Reason, error) {
	consented := auth.Consented || auth.ConsentedNow
	o := req.OpenID
	if o == nil {
		switch {
		case auth.UserID == "":
			return oidc.Login, oidc.ReasonNoSession, nil
		case !consented:
			return oidc.Consent, oidc.ReasonNoConsent, nil
		}
		return oidc.Proceed, oidc.ReasonNone, nil
	}
	sess := oidc.Session{
		UserID:           auth.UserID,
		AuthTime:         auth.AuthTime,
		AuthenticatedNow: auth.AuthenticatedNow,
		ConsentGiven:     consented,
		ConsentedNow:     auth.ConsentedNow,
	}
	if _, namesSub := o.Claims.Subject(); auth.UserID != "" && (req.IDTokenHint != nil || namesSub) {
		client, err := s.authorizeClient(ctx, req)
		if err != nil {
			return oidc.Login, oidc.ReasonNone, err
		}
		if sess.Subject, err = s.subjects(nil).Subject(client, auth.UserID); err != nil {
			return oidc.Login, oidc.ReasonNone, err
		}
	}
	return o.Evaluate(s.clock(), sess, req.IDTokenHint)
}

// authorizeClient returns the client of req.
func (s *Server) authorizeClient(ctx context.Context, req *AuthorizeRequest) (oauth2.ClientInfo, error) {
	if req.client != nil && req.client.GetID() == req.ClientID {
		return req.client, nil
	}
	c, err := s.Manager.GetClient(ctx, req.ClientID)
	if err != nil || c == nil {
		return nil, clientLookupError(err)
	}
	req.client = c
	return c, nil
}

// grantScope narrows req.Scope to the scope the End-User granted, which
// must be within the requested one; an OpenID Connect request keeps
// openid.
func grantScope(req *AuthorizeRequest, granted string) error {
	if granted == "" || granted == req.Scope {
		return nil
	}
	if !policy.ValidScope(granted) || !policy.ScopeWithin(granted, req.Scope) {
		return errGrantedScope
	}
	if req.OpenID != nil && !oidc.IsOpenID(granted) {
		granted = oidc.ScopeOpenID + " " + granted
	}
	req.Scope = granted
	return nil
}

// keepGrantInfo sets the extension data of the grant of the OpenID
// Connect request req: its nonce and claims request, and how the End-User
// authenticated (oidc.GrantInfo), for the grant's ID tokens and UserInfo.
func (s *Server) keepGrantInfo(req *AuthorizeRequest) error {
	o, auth := req.OpenID, req.auth
	gi := oidc.GrantInfo{Nonce: o.Nonce, Claims: o.Claims}
	if auth != nil {
		gi.AuthTime, gi.ACR, gi.AMR, gi.SID = auth.AuthTime, auth.ACR, auth.AMR, auth.SessionID
		if gi.AuthTime.IsZero() && auth.AuthenticatedNow && s.UserAuthenticationHandler != nil {
			gi.AuthTime = s.clock()
		}
	}
	ext, err := gi.Encode(nil)
	if err != nil {
		return err
	}
	if len(ext) > 0 {
		req.grant = &grantData{ext: ext}
	}
	return nil
}

// grantData is the extension data an authorization request keeps with its
// grant.
type grantData struct{ ext url.Values }

// extension returns the extension data to keep with req's grant, nil for
// none.
func (req *AuthorizeRequest) extension() url.Values {
	if req.grant == nil {
		return nil
	}
	return req.grant.ext
}

// headerOnlyWriter is the http.ResponseWriter of a UserAuthenticationHandler
// asked only who is signed in: headers pass through, a status or body is
// refused and noted.
type headerOnlyWriter struct {
	w     http.ResponseWriter
	wrote bool
}

func (h *headerOnlyWriter) Header() http.Header { return h.w.Header() }

func (h *headerOnlyWriter) Write([]byte) (int, error) {
	h.wrote = true
	return 0, errHandlerWrote
}

func (h *headerOnlyWriter) WriteHeader(int) { h.wrote = true }
