package manage

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/binary"
	stderrors "errors"
	"fmt"

	"github.com/oauth2d/oauth2"
	"github.com/oauth2d/oauth2/errors"
)

// errRedirectMismatch: the token request's redirect_uri differs from the
// authorization request's (RFC 6749 4.1.3).
var errRedirectMismatch = errors.WithDescription(errors.ErrInvalidGrant, "The redirect_uri does not match the authorization request")

// issueCode fills ti with an authorization code (RFC 6749 4.1.2): single
// use, short-lived, bound to the client, the redirect URI and the PKCE
// challenge, and the first record of a new grant, whose ID every token
// issued from the code shares so that a replay of the code revokes them.
func (m *Manager) issueCode(ctx context.Context, cli oauth2.ClientInfo, ti oauth2.TokenInfo, tgr *oauth2.TokenGenerateRequest) error {
	challenge, method, err := m.checkCodeChallenge(cli, tgr.CodeChallenge, tgr.CodeChallengeMethod)
	if err != nil {
		return err
	}
	gen := m.authorizeGenerate
	if gen == nil {
		return errNoAuthorizeGenerate
	}
	now := m.now()
	ti.SetGrantID(codeGrantID(cli.GetID(), method, challenge))
	ti.SetCodeChallenge(challenge)
	ti.SetCodeChallengeMethod(method)
	ti.SetCodeCreateAt(now)
	ti.SetCodeExpiresIn(m.codeExp)
	code, err := gen.Token(ctx, &oauth2.GenerateBasic{
		Client:    cli,
		UserID:    tgr.UserID,
		CreateAt:  now,
		TokenInfo: ti,
		Request:   tgr.Request,
	})
	if err != nil {
		return fmt.Errorf("manage: generate authorization code: %w", err)
	}
	if code == "" {
		return errEmptyGenerated
	}
	ti.SetCode(code)
	return nil
}

// exchangeCode is the authorization code grant at the token endpoint
// (RFC 6749 4.1.3, RFC 7636 4.6). The code must be live and issued to the
// authenticated client, the redirect_uri must repeat the authorization
// request's, and the code_verifier must match the stored challenge.
// Validation failures do not consume the code; the store's atomic
// ExchangeCode does, and a replayed code (or the loser of a concurrent
// exchange) revokes every token the code issued (RFC 6749 4.1.2,
// RFC 9700 4.5).
//
// A replay is judged like a first exchange before it revokes anything
// (OAuth 2.1 7.5.2): a replayed code presented by another client, or with a
// code_verifier that does not match the code's challenge, is refused
// without revoking, so that whoever merely saw a code cannot have the
// legitimate client's tokens revoked. The store forgets a consumed code's
// record and returns only its grant ID; the grant ID of a code binds its
// client and challenge (codeGrantID), which is what the replay is checked
// against.
func (m *Manager) exchangeCode(ctx context.Context, tgr *oauth2.TokenGenerateRequest) (oauth2.TokenInfo, error) {
	cli, err := m.clientFor(ctx, tgr, oauth2.AuthorizationCode)
	if err != nil {
		return nil, err
	}
	if tgr.Code == "" {
		return nil, errors.ErrInvalidAuthorizeCode
	}
	code, err := m.tokenStore.GetByCode(ctx, tgr.Code)
	if err != nil {
		var reused *oauth2.ReusedError
		if stderrors.As(err, &reused) && !replayBinds(reused.GrantID, cli.ID(), tgr.CodeVerifier) {
			return nil, errors.ErrInvalidAuthorizeCode
		}
		return nil, m.codeStoreError(ctx, err)
	}
	now := m.now()
	if code == nil || code.GetClientID() != cli.ID() ||
		expired(code.GetCodeCreateAt(), code.GetCodeExpiresIn(), now) {
		return nil, errors.ErrInvalidAuthorizeCode
	}
	if err := m.checkCodeRedirect(ctx, cli.Info(), code.GetRedirectURI(), tgr.RedirectURI); err != nil {
		return nil, err
	}
	if err := m.verifyCodeChallenge(code, tgr.CodeVerifier); err != nil {
		return nil, err
	}

	issued := m.newToken()
	issued.SetClientID(code.GetClientID())
	issued.SetUserID(code.GetUserID())
	issued.SetScope(code.GetScope())
	issued.SetRedirectURI(code.GetRedirectURI())
	issued.SetGrantID(code.GetGrantID())
	if err := m.extend(ctx, tgr, issued, code, true); err != nil {
		return nil, err
	}
	// RFC 9449 dpop_jkt, RFC 8707 resources (sender.go).
	if err := bindSender(cli, tgr, code, issued, false); err != nil {
		return nil, err
	}
	cfg := &m.codeCfg
	issued.SetAccessCreateAt(now)
	issued.SetAccessExpiresIn(accessExp(tgr, cfg.AccessTokenExp))
	withRefresh := cfg.IsGenerateRefresh && cli.AllowsGrant(oauth2.Refreshing)
	if withRefresh {
		issued.SetRefreshCreateAt(now)
		issued.SetRefreshExpiresIn(cfg.RefreshTokenExp)
	}
	if err := m.generateAccess(ctx, cli.Info(), issued, now, withRefresh, tgr); err != nil {
		return nil, err
	}
	if err := m.tokenStore.ExchangeCode(ctx, tgr.Code, issued); err != nil {
		return nil, m.codeStoreError(ctx, err)
	}
	return issued, nil
}

// codeStoreError maps a store error about a code: a replay revokes the
// grant and is invalid_grant, an unknown code is invalid_grant, anything
// else is the store's failure.
func (m *Manager) codeStoreError(ctx context.Context, err error) error {
	var reused *oauth2.ReusedError
	switch {
	case stderrors.As(err, &reused):
		return m.revokeReplayed(ctx, reused, errors.ErrInvalidAuthorizeCode)
	case stderrors.Is(err, oauth2.ErrNotFound):
		return errors.ErrInvalidAuthorizeCode
	}
	return fmt.Errorf("manage: authorization code: %w", err)
}

// checkCodeRedirect enforces RFC 6749 4.1.3: when the authorization
// request had a redirect_uri the token request must repeat it identically;
// when it had none, the token request may omit it or name the one URI the
// client registered.
func (m *Manager) checkCodeRedirect(ctx context.Context, cli oauth2.ClientInfo, stored, requested string) error {
	if stored != "" {
		if requested != stored {
			return errRedirectMismatch
		}
		return nil
	}
	if requested == "" {
		return nil
	}
	only, err := m.ValidateRedirectURI(ctx, cli, "")
	if err != nil || only != requested {
		return errRedirectMismatch
	}
	return nil
}

// Grant IDs of authorization codes (codeGrantID) are 16 random bytes and a
// 12-byte tag binding the code's client and PKCE challenge, base64url.
const (
	codeGrantRandLen = 16
	codeGrantTagLen  = 12
	codeGrantIDLen   = codeGrantRandLen + codeGrantTagLen
)

// codeGrantID returns a fresh grant ID for a code issued to clientID with
// the PKCE challenge of method ("" and "" without PKCE): 128 random bits
// followed by a tag, the first 96 bits of SHA-256 over the random part, the
// client ID, the method and the challenge. The method is bound too, so that
// the challenge, which travels in the authorization request, never passes
// as a plain verifier of an S256 code.
// The tag lets a replay of the consumed code be checked against the client
// and the verifier (replayBinds) although the store keeps nothing of a
// consumed code but its grant ID. It reveals nothing usable: the challenge
// is the SHA-256 of a verifier of at least 256 bits of entropy (RFC 7636
// 7.1), or, for plain, the verifier the code's record already holds.
func codeGrantID(clientID string, method oauth2.CodeChallengeMethod, challenge string) string {
	var b [codeGrantIDLen]byte
	_, _ = rand.Read(b[:codeGrantRandLen]) // crypto/rand.Read never fails (Go 1.24+)
	tag := codeGrantTag(b[:codeGrantRandLen], clientID, method, challenge)
	copy(b[codeGrantRandLen:], tag[:codeGrantTagLen])
	var out [(codeGrantIDLen*8 + 5) / 6]byte
	base64.RawURLEncoding.Encode(out[:], b[:])
	return string(out[:])
}

func codeGrantTag(random []byte, clientID string, method oauth2.CodeChallengeMethod, challenge string) [sha256.Size]byte {
	// Length-prefixed fields in one buffer, on the stack for the usual
	// sizes: this runs for every code issued.
	var stack [256]byte
	b := append(stack[:0], "oauth2d code grant v1\x00"...)
	b = append(b, random...)
	b = binary.BigEndian.AppendUint32(b, uint32(len(clientID)))
	b = append(b, clientID...)
	b = binary.BigEndian.AppendUint32(b, uint32(len(method)))
	b = append(b, method...)
	b = append(b, challenge...)
	return sha256.Sum256(b)
}

// replayBinds reports whether a replay of the consumed code of grantID, by
// clientID with verifier, is otherwise a valid exchange: the code was
// issued to clientID, and verifier matches its challenge (S256 or plain),
// or both are absent. A grant ID of another form (a code issued before
// grant IDs carried the tag) cannot be checked and counts as binding, so
// that its replay still revokes the grant as RFC 6749 4.1.2 asks.
func replayBinds(grantID, clientID, verifier string) bool {
	raw, err := base64.RawURLEncoding.DecodeString(grantID)
	if err != nil || len(raw) != codeGrantIDLen {
		return true
	}
	random, tag := raw[:codeGrantRandLen], raw[codeGrantRandLen:]
	matches := func(method oauth2.CodeChallengeMethod, challenge string) bool {
		want := codeGrantTag(random, clientID, method, challenge)
		return subtle.ConstantTimeCompare(want[:codeGrantTagLen], tag) == 1
	}
	if verifier == "" {
		return matches("", "")
	}
	if !validPKCEValue(verifier) {
		return false
	}
	sum := sha256.Sum256([]byte(verifier))
	s256 := base64.RawURLEncoding.EncodeToString(sum[:])
	return matches(oauth2.CodeChallengeS256, s256) || matches(oauth2.CodeChallengePlain, verifier)
}
