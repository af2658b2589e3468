package oauth2d

import (
	"context"
	stderrors "errors"
	"fmt"
	"log/slog"

	"github.com/golang-jwt/jwt/v5"

	"github.com/oauth2d/oauth2"
	"github.com/oauth2d/oauth2/generates"
)

// signingKeyName is the KVStore key of the current signing key, a PKCS#8
// PEM private key. Every process that shares the store signs with it.
const signingKeyName = "oauth2d/signing-key/current"

// signingAlg is the JWS algorithm of the generated key: RS256, which every
// resource server must support (RFC 9068 2.1, RFC 7518 3.1).
const signingAlg = "RS256"

// loadSigningKeys returns the key set with the signing key kept in kv,
// generating and storing the key on first start. Of several processes
// starting at once on an empty store, the first to store its key wins and
// the others use it.
func loadSigningKeys(ctx context.Context, kv oauth2.KVStore, log *slog.Logger) (*generates.KeySet, error) {
	pemBytes, err := kv.Get(ctx, signingKeyName)
	switch {
	case stderrors.Is(err, oauth2.ErrNotFound):
		key, err := generates.GenerateSigningKey(signingAlg)
		if err != nil {
			return nil, fmt.Errorf("oauth2d: signing key: %w", err)
		}
		fresh, err := generates.MarshalPrivateKeyPEM(key)
		if err != nil {
			return nil, fmt.Errorf("oauth2d: signing key: %w", err)
		}
		stored, err := kv.PutIfAbsent(ctx, signingKeyName, fresh, 0)
		if err != nil {
			return nil, fmt.Errorf("oauth2d: store signing key: %w", err)
		}
		if stored {
			pemBytes = fresh
			log.Info("generated a new signing key and saved it in the store", "alg", signingAlg)
		} else if pemBytes, err = kv.Get(ctx, signingKeyName); err != nil {
			return nil, fmt.Errorf("oauth2d: read signing key: %w", err)
		}
	case err != nil:
		return nil, fmt.Errorf("oauth2d: read signing key: %w", err)
	}
	signer, err := generates.ParsePrivateKeyPEM(pemBytes)
	if err != nil {
		return nil, fmt.Errorf("oauth2d: signing key in the store: %w", err)
	}
	ks := generates.NewKeySet()
	if err := ks.Add(generates.SigningKey{Method: jwt.SigningMethodRS256, Key: signer}, true); err != nil {
		return nil, fmt.Errorf("oauth2d: signing key in the store: %w", err)
	}
	cur, _ := ks.Current()
	log.Info("signing key loaded", "kid", cur.KeyID, "alg", signingAlg)
	return ks, nil
}

// Keys returns the signing key set, for the JWKS endpoint (RFC 7517 5).
func (a *App) Keys() *generates.KeySet { return a.keys }
