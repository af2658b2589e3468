package errors

import "errors"

// Error codes of RFC 6749 4.1.2.1 and 5.2. Each error's text is its code.
var (
	ErrInvalidRequest          = errors.New("invalid_request")
	ErrUnauthorizedClient      = errors.New("unauthorized_client")
	ErrAccessDenied            = errors.New("access_denied")
	ErrUnsupportedResponseType = errors.New("unsupported_response_type")
	ErrInvalidScope            = errors.New("invalid_scope")
	ErrServerError             = errors.New("server_error")
	ErrTemporarilyUnavailable  = errors.New("temporarily_unavailable")
	ErrInvalidClient           = errors.New("invalid_client")
	ErrInvalidGrant            = errors.New("invalid_grant")
	ErrUnsupportedGrantType    = errors.New("unsupported_grant_type")
)

// Error codes of RFC 6750 3.1 (protected resources).
var (
	ErrInvalidToken      = errors.New("invalid_token")
	ErrInsufficientScope = errors.New("insufficient_scope")
)

// Error code of RFC 7009 2.2.1 (revocation).
var ErrUnsupportedTokenType = errors.New("unsupported_token_type")

// Error codes of RFC 8628 3.5 (device authorization grant).
var (
	ErrAuthorizationPending = errors.New("authorization_pending")
	ErrSlowDown             = errors.New("slow_down")
	ErrExpiredToken         = errors.New("expired_token")
)

// Error codes of OpenID Connect Core 1.0 3.1.2.6 (authentication errors,
// redirected to the client like those of RFC 6749 4.1.2.1) and of OpenID
// Connect Core 1.0 6 and Registration 1.0 (request objects and
// registration).
// https://openid.net/specs/openid-connect-core-1_0.html#AuthError
var (
	// ErrLoginRequired: the request had prompt=none and the End-User must
	// authenticate first.
	ErrLoginRequired = errors.New("login_required")
	// ErrConsentRequired: the request had prompt=none and the End-User must
	// consent first.
	ErrConsentRequired = errors.New("consent_required")
	// ErrInteractionRequired: the request had prompt=none and the End-User
	// must interact with the server in some other way.
	ErrInteractionRequired = errors.New("interaction_required")
	// ErrAccountSelectionRequired: the request had prompt=none and the
	// End-User must choose one of several sessions.
	ErrAccountSelectionRequired = errors.New("account_selection_required")
	// ErrInvalidRequestURI: the request_uri does not resolve or holds an
	// invalid request object.
	ErrInvalidRequestURI = errors.New("invalid_request_uri")
	// ErrInvalidRequestObject: the request parameter holds an invalid
	// request object.
	ErrInvalidRequestObject = errors.New("invalid_request_object")
	// ErrRequestNotSupported: the server does not support the request
	// parameter (OpenID Connect Core 1.0 6).
	ErrRequestNotSupported = errors.New("request_not_supported")
	// ErrRequestURINotSupported: the server does not support the
	// request_uri parameter (OpenID Connect Core 1.0 6).
	ErrRequestURINotSupported = errors.New("request_uri_not_supported")
	// ErrRegistrationNotSupported: the server does not support the
	// registration parameter (OpenID Connect Core 1.0 7.2.1).
	ErrRegistrationNotSupported = errors.New("registration_not_supported")
)

// codes lists every code error, for Lookup.
var codes = []error{
	ErrInvalidRequest, ErrUnauthorizedClient, ErrAccessDenied,
	ErrUnsupportedResponseType, ErrInvalidScope, ErrServerError,
	ErrTemporarilyUnavailable, ErrInvalidClient, ErrInvalidGrant,
	ErrUnsupportedGrantType, ErrInvalidToken, ErrInsufficientScope,
	ErrUnsupportedTokenType, ErrAuthorizationPending, ErrSlowDown,
	ErrExpiredToken,
	ErrLoginRequired, ErrConsentRequired, ErrInteractionRequired,
	ErrAccountSelectionRequired, ErrInvalidRequestURI, ErrInvalidRequestObject,
	ErrRequestNotSupported, ErrRequestURINotSupported, ErrRegistrationNotSupported,
}

// Descriptions are the default error_description of each code.
var Descriptions = map[error]string{
	ErrInvalidRequest:          "The request is missing a required parameter, includes an invalid parameter value, includes a parameter more than once, or is otherwise malformed",
	ErrUnauthorizedClient:      "The client is not authorized to request an authorization code or token using this method",
	ErrAccessDenied:            "The resource owner or authorization server denied the request",
	ErrUnsupportedResponseType: "The authorization server does not support obtaining an authorization code using this method",
	ErrInvalidScope:            "The requested scope is invalid, unknown, or malformed",
	ErrServerError:             "The authorization server encountered an unexpected condition that prevented it from fulfilling the request",
	ErrTemporarilyUnavailable:  "The authorization server is currently unable to handle the request due to a temporary overloading or maintenance of the server",
	ErrInvalidClient:           "Client authentication failed",
	ErrInvalidGrant:            "The provided authorization grant or refresh token is invalid, expired, revoked, does not match the redirection URI used in the authorization request, or was issued to another client",
	ErrUnsupportedGrantType:    "The authorization grant type is not supported by the authorization server",
	ErrInvalidToken:            "The access token provided is expired, revoked, malformed, or invalid for other reasons",
	ErrInsufficientScope:       "The request requires higher privileges than provided by the access token",
	ErrUnsupportedTokenType:    "The authorization server does not support the revocation of the presented token type",
	ErrAuthorizationPending:    "The authorization request is still pending",
	ErrSlowDown:                "The client is polling too quickly",
	ErrExpiredToken:            "The device code has expired",

	ErrLoginRequired:            "The End-User must authenticate, which prompt=none does not allow",
	ErrConsentRequired:          "The End-User must consent, which prompt=none does not allow",
	ErrInteractionRequired:      "The End-User must interact with the authorization server, which prompt=none does not allow",
	ErrAccountSelectionRequired: "The End-User must select an account, which prompt=none does not allow",
	ErrInvalidRequestURI:        "The request_uri is invalid or does not resolve",
	ErrInvalidRequestObject:     "The request object is invalid",
	ErrRequestNotSupported:      "The authorization server does not support the request parameter",
	ErrRequestURINotSupported:   "The authorization server does not support the request_uri parameter",
	ErrRegistrationNotSupported: "The authorization server does not support the registration parameter",
}

// StatusCodes are the HTTP statuses of each code: 400 unless listed
// (RFC 6749 5.2: 401 for invalid_client; RFC 6750 3.1: 401 for
// invalid_token, 403 for insufficient_scope).
var StatusCodes = map[error]int{
	ErrInvalidClient:          401,
	ErrInvalidToken:           401,
	ErrInsufficientScope:      403,
	ErrServerError:            500,
	ErrTemporarilyUnavailable: 503,
}
