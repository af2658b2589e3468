package manage

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"time"

	"github.com/oauth2d/oauth2"
	"github.com/oauth2d/oauth2/errors"
	"github.com/oauth2d/oauth2/policy"
)

// DefaultTokenExchangeTokenCfg configures the tokens of the token exchange
// grant (RFC 8693): an access token of an hour at most, never a refresh
// token. A manager copies it when it first issues such a token, unless
// SetTokenExchangeTokenCfg set its own.
var DefaultTokenExchangeTokenCfg = &Config{AccessTokenExp: time.Hour}

// maxActDepth bounds the delegation chain of an act claim (RFC 8693 4.1).
const maxActDepth = 8

// Errors of the token exchange grant.
var (
	errExchangeExpired = errors.WithDescription(errors.ErrInvalidRequest, "The subject_token has expired")
	errExchangeChain   = errors.WithDescription(errors.ErrInvalidRequest, "The delegation chain of the tokens is too long")
	errExchangeAct     = errors.New("manage: the act claim of the subject token is not a JSON object")
)

var _ oauth2.TokenExchanger = (*Manager)(nil)

// SetTokenExchangeTokenCfg sets the token configuration of the token
// exchange grant; only AccessTokenExp is used, and IsGenerateRefresh is
// ignored: an exchanged token never comes with a refresh token.
func (m *Manager) SetTokenExchangeTokenCfg(cfg *Config) {
	if cfg != nil {
		c := *cfg
		m.exchangeCfg = &c
	}
}

// ExchangeToken issues the access token of a token exchange (RFC 8693 2)
// whose tokens the server has verified (req), to the client tgr.Client
// (else the manager authenticates tgr.ClientID and tgr.ClientSecret). The
// policy decides, in this order:
//
//   - the client may use the token exchange grant (its registered grant
//     types, never a public client's client credentials aside; RFC 6749
//     5.2 unauthorized_client);
//   - the scope is tgr.Scope, which must be within the subject token's
//     (invalid_scope), or the subject token's scope when tgr.Scope is
//     empty; and within the client's registered scopes;
//   - every requested audience and resource is in the client's token
//     exchange allow-list (policy.Client.CheckExchangeAudiences,
//     invalid_target).
//
// The new token is about req.Subject (its user, or for a client's own
// token that client), issued to the requesting client, restricted to the
// requested audiences (policy.ExtensionResource: the JWT's and the
// introspection's aud), and carries the act claim (policy.ExtensionActor)
// of a delegation: the actor, with the subject token's own act nested in
// it (RFC 8693 4.1); an impersonation keeps the subject token's act. It
// joins the subject token's grant, so that revoking the grant revokes it,
// and never outlives the subject token. The rest of tgr.Extension (the DPoP
// binding the server verified) is kept; the ExtractExtensionHandler is
// called. On any error nothing is stored.
func (m *Manager) ExchangeToken(ctx context.Context, tgr *oauth2.TokenGenerateRequest, req *oauth2.TokenExchangeRequest) (oauth2.TokenInfo, error) {
	if tgr == nil || req == nil {
		return nil, errors.ErrInvalidRequest
	}
	if m.tokenStore == nil {
		return nil, errNoTokenStore
	}
	cli, err := m.clientFor(ctx, tgr, oauth2.TokenExchange)
	if err != nil {
		return nil, err
	}
	scope := tgr.Scope
	if scope == "" {
		scope = req.Subject.Scope
	} else if !policy.ScopeWithin(scope, req.Subject.Scope) {
		return nil, errors.ErrInvalidScope
	}
	if err := cli.CheckScope(scope); err != nil {
		return nil, err
	}
	if err := cli.CheckExchangeAudiences(req.Audience); err != nil {
		return nil, err
	}
	act, err := actClaim(req)
	if err != nil {
		return nil, err
	}

	now := m.now()
	cfg := m.exchangeCfg
	if cfg == nil {
		cfg = DefaultTokenExchangeTokenCfg
	}
	exp := accessExp(tgr, cfg.AccessTokenExp)
	if !req.Subject.Expiry.IsZero() {
		left := req.Subject.Expiry.Sub(now)
		if left <= 0 {
			return nil, errExchangeExpired
		}
		if exp <= 0 || exp > left {
			exp = left.Truncate(time.Second)
			if exp <= 0 {
				return nil, errExchangeExpired
			}
		}
	}

	// The request's extension data, with the exchange's own keys: the
	// audience, the actor and the issued token type replace anything the
	// request had under them.
	ext := make(url.Values, len(tgr.Extension)+3)
	for k, vs := range tgr.Extension {
		ext[k] = vs
	}
	delete(ext, policy.ExtensionGrantedResource)
	setOrDelete(ext, policy.ExtensionResource, req.Audience...)
	setOrDelete(ext, policy.ExtensionActor, act)
	ext.Set(policy.ExtensionIssuedTokenType, oauth2.TokenTypeAccessToken)
	xtgr := *tgr
	xtgr.Extension = ext

	ti := m.newToken()
	ti.SetClientID(cli.ID())
	ti.SetUserID(req.Subject.Subject())
	ti.SetScope(scope)
	ti.SetGrantID(req.Subject.GrantID)
	if err := m.extend(ctx, &xtgr, ti, nil, true); err != nil {
		return nil, err
	}
	if _, ok := ti.(oauth2.ExtendableTokenInfo); !ok {
		return nil, errExtensionModel
	}
	ti.SetAccessCreateAt(now)
	ti.SetAccessExpiresIn(exp)
	if err := m.generateAccess(ctx, cli.Info(), ti, now, false, &xtgr); err != nil {
		return nil, err
	}
	if err := m.tokenStore.Create(ctx, ti); err != nil {
		return nil, fmt.Errorf("manage: store exchanged token: %w", err)
	}
	return ti, nil
}

// actClaim returns the act claim of the token a token exchange issues (RFC
// 8693 4.1) as JSON, "" for none: the actor's subject, with the subject
// token's act nested as the prior actors; without an actor, the subject
// token's act.
func actClaim(req *oauth2.TokenExchangeRequest) (string, error) {
	prior := req.Subject.Act
	if prior != "" {
		depth, err := actDepth(prior)
		if err != nil {
			return "", err
		}
		if req.Actor != nil && depth >= maxActDepth {
			return "", errExchangeChain
		}
	}
	if req.Actor == nil {
		return prior, nil
	}
	act := struct {
		Sub string          `json:"sub"`
		Act json.RawMessage `json:"act,omitempty"`
	}{Sub: req.Actor.Subject()}
	if prior != "" {
		act.Act = json.RawMessage(prior)
	}
	b, err := json.Marshal(act)
	if err != nil {
		return "", fmt.Errorf("manage: act claim: %w", err)
	}
	return string(b), nil
}

// actDepth returns the number of actors of the act claim raw.
func actDepth(raw string) (int, error) {
	depth := 0
	cur := json.RawMessage(raw)
	for len(cur) > 0 && string(cur) != "null" {
		if depth > maxActDepth {
			return depth, errExchangeChain
		}
		var a struct {
			Act json.RawMessage `json:"act"`
		}
		if cur[0] != '{' || json.Unmarshal(cur, &a) != nil {
			return 0, errExchangeAct
		}
		depth++
		cur = a.Act
	}
	return depth, nil
}
