package oauth2d

import (
	"bytes"
	"context"
	stderrors "errors"
	"fmt"
	"log/slog"

	"github.com/golang-jwt/jwt/v5"

	"github.com/oauth2d/oauth2"
	"github.com/oauth2d/oauth2/generates"
	"github.com/oauth2d/oauth2/internal/atrest"
)

// signingKeyName is the KVStore key of the current signing key: a PKCS#8
// PEM private key, sealed with the at-rest keyring (internal/atrest).
// Every process that shares the store signs with it.
const signingKeyName = "oauth2d/signing-key/current"

// signingAlg is the JWS algorithm of the generated key: RS256, which every
// resource server must support (RFC 9068 2.1, RFC 7518 3.1).
const signingAlg = "RS256"

// errWrongSecret explains a store whose keys the configured secret cannot
// decrypt; its text is the start-up error.
type errWrongSecret struct {
	what, source string
}

func (e *errWrongSecret) Error() string {
	return fmt.Sprintf("the %s in the store is encrypted with another secret than the one from %s: "+
		"start with the secret it was stored with; to change the secret, give the new one and keep the old one in %s "+
		"(or on the second line of secret_file) until every process has started with the new one (docs/config.md, secret_file)",
		e.what, e.source, EnvSecretOld)
}

// openSealed reads the value of name from kv and decrypts it with ring:
// a value sealed with a former secret is sealed again with the current
// one, and a value an earlier version stored in the clear (clear reports
// whether v is such a value) is sealed in place. It returns nil, nil when
// the store holds no value.
func openSealed(ctx context.Context, kv oauth2.KVStore, ring *atrest.Keyring, name, what, source string,
	clear func(v []byte) bool, log *slog.Logger) ([]byte, error) {
	v, err := kv.Get(ctx, name)
	switch {
	case stderrors.Is(err, oauth2.ErrNotFound):
		return nil, nil
	case err != nil:
		return nil, fmt.Errorf("oauth2d: read the %s: %w", what, err)
	}
	if !atrest.IsSealed(v) && clear(v) {
		if err := kv.Put(ctx, name, ring.Seal(name, v), 0); err != nil {
			return nil, fmt.Errorf("oauth2d: encrypt the %s: %w", what, err)
		}
		log.Info("encrypted the "+what+" that an earlier version kept in the clear", "secret", source)
		return v, nil
	}
	plain, current, err := ring.Open(name, v)
	switch {
	case stderrors.Is(err, atrest.ErrUnknownSecret):
		return nil, &errWrongSecret{what: what, source: source}
	case err != nil:
		return nil, fmt.Errorf("oauth2d: the %s in the store is damaged: %w", what, err)
	}
	if !current {
		if err := kv.Put(ctx, name, ring.Seal(name, plain), 0); err != nil {
			return nil, fmt.Errorf("oauth2d: encrypt the %s with the new secret: %w", what, err)
		}
		log.Info("encrypted the " + what + " with the new secret; the former one is no longer needed once every process runs with the new one")
	}
	return plain, nil
}

// isPEM reports whether v is a PEM block, as earlier versions stored the
// signing key.
func isPEM(v []byte) bool { return bytes.HasPrefix(bytes.TrimSpace(v), []byte("-----BEGIN ")) }

// loadSigningKeys returns the key set with the signing key kept in kv,
// generating and storing the key on first start. The key is stored sealed
// with ring. Of several processes starting at once on an empty store, the
// first to store its key wins and the others use it.
func loadSigningKeys(ctx context.Context, kv oauth2.KVStore, ring *atrest.Keyring, source string, log *slog.Logger) (*generates.KeySet, error) {
	const what = "signing key"
	pemBytes, err := openSealed(ctx, kv, ring, signingKeyName, what, source, isPEM, log)
	if err != nil {
		return nil, err
	}
	if pemBytes == nil {
		key, err := generates.GenerateSigningKey(signingAlg)
		if err != nil {
			return nil, fmt.Errorf("oauth2d: signing key: %w", err)
		}
		fresh, err := generates.MarshalPrivateKeyPEM(key)
		if err != nil {
			return nil, fmt.Errorf("oauth2d: signing key: %w", err)
		}
		stored, err := kv.PutIfAbsent(ctx, signingKeyName, ring.Seal(signingKeyName, fresh), 0)
		if err != nil {
			return nil, fmt.Errorf("oauth2d: store signing key: %w", err)
		}
		if stored {
			pemBytes = fresh
			log.Info("generated a new signing key and saved it, encrypted, in the store", "alg", signingAlg)
		} else if pemBytes, err = openSealed(ctx, kv, ring, signingKeyName, what, source, isPEM, log); err != nil {
			return nil, err
		} else if pemBytes == nil {
			return nil, stderrors.New("oauth2d: the signing key another process stored is gone")
		}
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
