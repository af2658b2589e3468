package server

import (
	"context"
	stderrors "errors"
	"fmt"
	"slices"

	"github.com/oauth2d/oauth2"
	"github.com/oauth2d/oauth2/errors"
	"github.com/oauth2d/oauth2/oidc"
	"github.com/oauth2d/oauth2/policy"
)

// The token exchange grant (RFC 8693 2): a client presents a token of this
// server, the subject token, and gets a new access token about the same
// subject for another audience or a narrower scope; with an actor token it
// gets a delegation, whose act claim names the actor (RFC 8693 4.1). The
// manager issues (oauth2.TokenExchanger); this file verifies the tokens
// presented and what the client may present.
// https://www.rfc-editor.org/rfc/rfc8693

// IDTokenVerifier verifies an ID token of this issuer: its signature, by a
// key the server still publishes, and its issuer (not its expiry), as
// generates.JWTIDTokenGenerate.ParseIDTokenHint does.
type IDTokenVerifier interface {
	ParseIDTokenHint(raw string) (*oidc.IDTokenHint, error)
}

// TokenExchangeConfig configures the token exchange grant (RFC 8693). The
// grant is served when oauth2.TokenExchange is in Config.AllowedGrantTypes
// and the manager is an oauth2.TokenExchanger.
type TokenExchangeConfig struct {
	// IDTokens verifies ID tokens presented as subject_token or
	// actor_token (subject_token_type oauth2.TokenTypeIDToken); nil
	// accepts access tokens only.
	IDTokens IDTokenVerifier
}

// Errors of the token exchange grant (RFC 8693 2.2.2: invalid_request for
// a token that is invalid or unacceptable, invalid_target for an audience
// or resource).
var (
	errExchangeSubjectMissing = errors.WithDescription(errors.ErrInvalidRequest, "The subject_token and subject_token_type parameters are required")
	errExchangeActorType      = errors.WithDescription(errors.ErrInvalidRequest, "The actor_token_type parameter is required with actor_token, and only with it")
	errExchangeRequestedType  = errors.WithDescription(errors.ErrInvalidRequest, "The requested_token_type is not supported: access tokens only")
	errExchangeTokenType      = errors.WithDescription(errors.ErrInvalidRequest, "The token type is not supported")
	errExchangeSubject        = errors.WithDescription(errors.ErrInvalidRequest, "The subject_token is invalid, expired or revoked")
	errExchangeActor          = errors.WithDescription(errors.ErrInvalidRequest, "The actor_token is invalid, expired or revoked")
	errExchangeNotYours       = errors.WithDescription(errors.ErrInvalidRequest, "The token was issued neither to the client nor for it")
	errExchangeBound          = errors.WithDescription(errors.ErrInvalidRequest, "The token is bound to a DPoP key: the request must carry a DPoP proof of that key")
	errExchangePairwise       = errors.WithDescription(errors.ErrInvalidRequest, "An ID token with a pairwise subject cannot be exchanged")
	errExchangeAudience       = errors.WithDescription(errors.ErrInvalidTarget, "An audience value is empty or too long")
	errExchangeNoState        = errors.WithDescription(errors.ErrInvalidRequest, "The token exchange request was not read by the server")
)

// maxAudiences bounds the audience values of one exchange.
const maxAudiences = policy.MaxResources

type tokenExchangeGrant struct{}

func init() { RegisterGrant(tokenExchangeGrant{}) }

// Info names the token exchange grant; configurations call it
// "token_exchange".
func (tokenExchangeGrant) Info() GrantInfo {
	return GrantInfo{Type: oauth2.TokenExchange, Name: "token_exchange"}
}

// Available reports whether the manager can issue for the grant.
func (tokenExchangeGrant) Available(s *Server) bool {
	_, ok := s.Manager.(oauth2.TokenExchanger)
	return ok
}

// exchangeParams are the parameters of a token exchange request, carried
// from ReadRequest to Issue in the request's context.
type exchangeParams struct {
	subject, subjectType string
	actor, actorType     string
	audience             []string
}

type exchangeKey struct{}

// ReadRequest reads subject_token and subject_token_type (required),
// actor_token and actor_token_type (together or not at all),
// requested_token_type (access tokens only), scope, and the audience and
// resource values (RFC 8693 2.1), which together name the audience of the
// new token: resources must be absolute URIs without fragments (RFC 8707
// 2), audiences non-empty.
func (tokenExchangeGrant) ReadRequest(_ context.Context, _ *Server, p Params, tgr *oauth2.TokenGenerateRequest) error {
	x := &exchangeParams{
		subject: p.Get("subject_token"), subjectType: p.Get("subject_token_type"),
		actor: p.Get("actor_token"), actorType: p.Get("actor_token_type"),
	}
	if x.subject == "" || x.subjectType == "" {
		return errExchangeSubjectMissing
	}
	if (x.actor == "") != (x.actorType == "") {
		return errExchangeActorType
	}
	if rt := p.Get("requested_token_type"); rt != "" && rt != oauth2.TokenTypeAccessToken {
		return errExchangeRequestedType
	}
	scope, err := readScope(p)
	if err != nil {
		return err
	}
	tgr.Scope = scope
	res, err := policy.ParseResources(ParamValues(p, paramResource))
	if err != nil {
		return err
	}
	aud := ParamValues(p, paramAudience)
	if len(aud)+len(res) > maxAudiences {
		return errExchangeAudience
	}
	for _, a := range aud {
		if len(a) > policy.MaxResourceLength {
			return errExchangeAudience
		}
		if !slices.Contains(x.audience, a) {
			x.audience = append(x.audience, a)
		}
	}
	for _, r := range res {
		if !slices.Contains(x.audience, r) {
			x.audience = append(x.audience, r)
		}
	}
	if tgr.Request != nil {
		tgr.Request = tgr.Request.WithContext(context.WithValue(tgr.Request.Context(), exchangeKey{}, x))
	}
	return nil
}

// Issue verifies the subject token and the actor token and has the manager
// issue (oauth2.TokenExchanger). A token is acceptable when it is a live
// access token of this server (Manager.LoadAccessToken: not expired, not
// revoked) or, with TokenExchangeConfig.IDTokens, an unexpired ID token of
// this issuer with a public subject; and when it was issued to the
// requesting client or for it (the client's ID is in its audience): a
// client cannot exchange a token it was never meant to hold. A token bound
// to a DPoP key is acceptable only with a DPoP proof of that key, which
// binds the new token to it too (RFC 9449). The audiences the client may
// ask for, and the scope, are the manager's checks (policy). Nothing is
// issued on any error.
func (tokenExchangeGrant) Issue(ctx context.Context, s *Server, tgr *oauth2.TokenGenerateRequest) (oauth2.TokenInfo, error) {
	te, ok := s.Manager.(oauth2.TokenExchanger)
	if !ok {
		return nil, errUnsupportedGrant
	}
	var x *exchangeParams
	if tgr.Request != nil {
		x, _ = tgr.Request.Context().Value(exchangeKey{}).(*exchangeParams)
	}
	if x == nil {
		return nil, errExchangeNoState
	}
	client := policy.Of(tgr.Client)
	if tgr.Client == nil {
		return nil, errClientAuth
	}
	subject, err := s.exchangeParty(ctx, client, tgr, x.subject, x.subjectType, errExchangeSubject)
	if err != nil {
		return nil, err
	}
	req := &oauth2.TokenExchangeRequest{Subject: *subject, Audience: x.audience}
	if x.actor != "" {
		if req.Actor, err = s.exchangeParty(ctx, client, tgr, x.actor, x.actorType, errExchangeActor); err != nil {
			return nil, err
		}
	}
	if err := s.checkClientScope(tgr); err != nil {
		return nil, err
	}
	return te.ExchangeToken(ctx, tgr, req)
}

// exchangeParty verifies a token presented in an exchange and returns what
// it says. invalid is the error of a token that is not acceptable.
func (s *Server) exchangeParty(ctx context.Context, client policy.Client, tgr *oauth2.TokenGenerateRequest, token, typ string, invalid error) (*oauth2.TokenExchangeParty, error) {
	var p *oauth2.TokenExchangeParty
	var err error
	switch typ {
	case oauth2.TokenTypeAccessToken:
		p, err = s.accessTokenParty(ctx, tgr, token, invalid)
	case oauth2.TokenTypeIDToken:
		if s.Config.TokenExchange.IDTokens == nil {
			return nil, errExchangeTokenType
		}
		p, err = s.idTokenParty(ctx, client, tgr, token, invalid)
	default:
		return nil, errExchangeTokenType
	}
	if err != nil {
		return nil, err
	}
	if p.ClientID != client.ID() && !slices.Contains(p.Audience, client.ID()) {
		return nil, errExchangeNotYours
	}
	return p, nil
}

// accessTokenParty reads a live access token of this server.
func (s *Server) accessTokenParty(ctx context.Context, tgr *oauth2.TokenGenerateRequest, token string, invalid error) (*oauth2.TokenExchangeParty, error) {
	ti, err := s.Manager.LoadAccessToken(ctx, token)
	if err != nil {
		if isNotFound(err) || stderrors.Is(err, errors.ErrInvalidToken) {
			return nil, invalid
		}
		return nil, fmt.Errorf("server: token exchange: %w", err)
	}
	if ti == nil {
		return nil, invalid
	}
	if jkt := policy.DPoPThumbprint(ti); jkt != "" && tgr.Extension.Get(policy.ExtensionDPoPJKT) != jkt {
		return nil, errExchangeBound
	}
	if _, err := checkCertificateBinding(tgr.Request, ti, nil); err != nil {
		return nil, errExchangeCertBound // RFC 8705 3 (client_tls.go)
	}
	p := &oauth2.TokenExchangeParty{
		UserID:   ti.GetUserID(),
		ClientID: ti.GetClientID(),
		Scope:    ti.GetScope(),
		GrantID:  ti.GetGrantID(),
		Audience: policy.Resources(ti),
	}
	if exp := ti.GetAccessExpiresIn(); exp > 0 {
		p.Expiry = ti.GetAccessCreateAt().Add(exp)
	}
	if e, ok := ti.(oauth2.ExtendableTokenInfo); ok {
		p.Act = e.GetExtension().Get(policy.ExtensionActor)
	}
	return p, nil
}

// idTokenParty reads an unexpired ID token of this issuer. Its subject is
// the user ID only when its client gets public subject identifiers: a
// pairwise one cannot be mapped back (OpenID Connect Core 1.0 8.1). An ID
// token has no scope: the new token may have the requested scope, as far as
// the client's registration allows (the manager checks it).
func (s *Server) idTokenParty(ctx context.Context, client policy.Client, tgr *oauth2.TokenGenerateRequest, token string, invalid error) (*oauth2.TokenExchangeParty, error) {
	h, err := s.Config.TokenExchange.IDTokens.ParseIDTokenHint(token)
	if err != nil || h == nil || len(h.Audience) == 0 || (!h.Expiry.IsZero() && !s.clock().Before(h.Expiry)) {
		return nil, invalid
	}
	owner, err := s.Manager.GetClient(ctx, h.Audience[0])
	if err != nil || owner == nil {
		if err != nil && !isNotFound(err) && !stderrors.Is(err, errors.ErrInvalidClient) {
			return nil, fmt.Errorf("server: token exchange: %w", err)
		}
		return nil, invalid
	}
	if sc, ok := owner.(oidc.SubjectClient); ok && sc.GetSubjectType() == oidc.SubjectPairwise {
		return nil, errExchangePairwise
	}
	return &oauth2.TokenExchangeParty{
		UserID:   h.Subject,
		ClientID: owner.GetID(),
		Scope:    tgr.Scope,
		Expiry:   h.Expiry,
		Audience: h.Audience,
	}, nil
}
