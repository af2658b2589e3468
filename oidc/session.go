package oidc

import (
	"time"

	"github.com/oauth2d/oauth2/errors"
)

// Session is what the server knows, at the authorization endpoint, of the
// End-User behind the user agent: who is logged in, since when, and whether
// they consented to the client.
type Session struct {
	// UserID is the logged-in End-User; "" when no one is.
	UserID string
	// Subject is UserID's sub for the requesting client (see
	// Subjects.Subject): what an id_token_hint or a requested sub is
	// compared with. "" compares with UserID, as for public subject
	// identifiers.
	Subject string
	// AuthTime is when the End-User last authenticated (OpenID Connect
	// Core 1.0 2 auth_time).
	AuthTime time.Time
	// AuthenticatedNow reports that the End-User authenticated during this
	// authorization request, after it arrived: it satisfies prompt=login,
	// prompt=select_account and max_age, which would otherwise send them
	// back to the login page forever.
	AuthenticatedNow bool
	// ConsentGiven reports that the End-User's consent to this client and
	// scope is on record.
	ConsentGiven bool
	// ConsentedNow reports that the End-User consented during this
	// authorization request: it satisfies prompt=consent.
	ConsentedNow bool
}

func (s *Session) subject() string {
	if s.Subject != "" {
		return s.Subject
	}
	return s.UserID
}

// Action is what the authorization endpoint must do next with an OpenID
// Connect authentication request.
type Action uint8

// Actions of Decide.
const (
	// Proceed: issue the authorization response.
	Proceed Action = iota
	// Login: show the login page, then come back.
	Login
	// Consent: show the consent page, then come back.
	Consent
)

func (a Action) String() string {
	switch a {
	case Proceed:
		return "proceed"
	case Login:
		return "login"
	case Consent:
		return "consent"
	}
	return "unknown"
}

// Errors of Decide, redirected to the client with its state (OpenID Connect
// Core 1.0 3.1.2.6).
var (
	errNoSession     = errors.WithDescription(errors.ErrLoginRequired, "No End-User is logged in")
	errSessionTooOld = errors.WithDescription(errors.ErrLoginRequired, "The End-User authenticated longer ago than max_age allows")
	errOtherUser     = errors.WithDescription(errors.ErrLoginRequired, "The logged-in End-User is not the one the request names")
	errConsentNeeded = errors.WithDescription(errors.ErrConsentRequired, "The End-User has not consented to this client and scope")
)

// Reason says why Decide asks for a page (Login or Consent) or answers an
// error.
type Reason uint8

// Reasons of Decide.
const (
	// ReasonNone: nothing is asked (Proceed).
	ReasonNone Reason = iota
	// ReasonNoSession: no End-User is logged in.
	ReasonNoSession
	// ReasonPromptLogin: prompt has login or select_account (OpenID
	// Connect Core 1.0 3.1.2.1): the End-User must authenticate again.
	ReasonPromptLogin
	// ReasonMaxAge: the End-User authenticated longer ago than max_age
	// allows, or when is unknown (3.1.2.1).
	ReasonMaxAge
	// ReasonOtherUser: the logged-in End-User is not the one the
	// id_token_hint or a requested sub value names (3.1.2.1, 5.5.1).
	ReasonOtherUser
	// ReasonNoConsent: the End-User's consent to the client and scope is
	// not on record.
	ReasonNoConsent
	// ReasonPromptConsent: prompt has consent: the End-User must consent
	// again (3.1.2.1).
	ReasonPromptConsent
)

func (r Reason) String() string {
	switch r {
	case ReasonNone:
		return "none"
	case ReasonNoSession:
		return "no_session"
	case ReasonPromptLogin:
		return "prompt_login"
	case ReasonMaxAge:
		return "max_age"
	case ReasonOtherUser:
		return "other_user"
	case ReasonNoConsent:
		return "no_consent"
	case ReasonPromptConsent:
		return "prompt_consent"
	}
	return "unknown"
}

// Decide tells what the authorization endpoint must do with the OpenID
// Connect authentication request r for the session s at now (OpenID Connect
// Core 1.0 3.1.2.3, 3.1.2.4). hint is r's id_token_hint once verified (nil
// when r had none). Evaluate also says why.
//
// The End-User must log in (Login) when no one is logged in; when prompt
// has login or select_account; when they authenticated longer than max_age
// ago, or max_age is 0 (which Core 3.1.2.1 makes prompt=login); and when the logged-in End-User is not the one id_token_hint or a
// requested sub value (5.5.1) names. A login during this request
// (s.AuthenticatedNow) satisfies the first three; if the End-User who just
// logged in is still not the one named, the answer is login_required
// (3.1.2.1: the server SHOULD answer with an error). Then the End-User must
// consent (Consent) when no consent is on record, or prompt has consent and
// they have not consented during this request. Otherwise: Proceed.
//
// With prompt=none nothing may be shown (3.1.2.1): instead of Login the
// error is login_required, instead of Consent consent_required, each to be
// redirected to the client. Only requests with r.OpenID should be passed.
func (r *AuthRequest) Decide(now time.Time, s Session, hint *IDTokenHint) (Action, error) {
	a, _, err := r.Evaluate(now, s, hint)
	return a, err
}

// Evaluate is Decide, with the Reason of a Login or Consent action or of
// an error.
func (r *AuthRequest) Evaluate(now time.Time, s Session, hint *IDTokenHint) (Action, Reason, error) {
	none := r.Prompt.Has(PromptNone)
	login := func(reason Reason, err error) (Action, Reason, error) {
		if none {
			return Login, reason, err
		}
		return Login, reason, nil
	}
	if s.UserID == "" {
		return login(ReasonNoSession, errNoSession)
	}
	if !s.AuthenticatedNow {
		if r.Prompt.Has(PromptLogin | PromptSelectAccount) {
			// ParseAuthRequest refuses these with prompt=none.
			return Login, ReasonPromptLogin, nil
		}
		// max_age=0 is prompt=login (Core 3.1.2.1, errata set 2).
		if r.HasMaxAge && (r.MaxAge == 0 || s.AuthTime.IsZero() || now.Sub(s.AuthTime) > r.MaxAge) {
			return login(ReasonMaxAge, errSessionTooOld)
		}
	}
	if !r.namesUser(s.subject(), hint) {
		if s.AuthenticatedNow || none {
			return Login, ReasonOtherUser, errOtherUser
		}
		return Login, ReasonOtherUser, nil
	}
	if !s.ConsentedNow {
		if !s.ConsentGiven {
			if none {
				return Consent, ReasonNoConsent, errConsentNeeded
			}
			return Consent, ReasonNoConsent, nil
		}
		if r.Prompt.Has(PromptConsent) {
			return Consent, ReasonPromptConsent, nil
		}
	}
	return Proceed, ReasonNone, nil
}

// namesUser reports whether sub is the End-User the request names, if it
// names one: by its id_token_hint (3.1.2.1) or by a value for sub in the
// claims parameter's id_token member (5.5.1).
func (r *AuthRequest) namesUser(sub string, hint *IDTokenHint) bool {
	if hint != nil && hint.Subject != sub {
		return false
	}
	if want, ok := r.Claims.Subject(); ok && want != sub {
		return false
	}
	return true
}
