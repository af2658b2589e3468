package oauth2d

import (
	"bytes"
	"context"
	stderrors "errors"
	"fmt"
	"log/slog"

	"github.com/oauth2d/oauth2"
	"github.com/oauth2d/oauth2/generates"
	"github.com/oauth2d/oauth2/internal/atrest"
)

// signingKeyName is the KVStore key of the one signing key that versions
// before key rotation kept: a PKCS#8 PEM private key, sealed with the
// at-rest keyring (internal/atrest). A store that has it and no key set
// (keySetName) gets a key set of that key at the first start
// (keys_rotate.go); the value is left in place for the processes of the
// earlier version still running.
const signingKeyName = "oauth2d/signing-key/current"

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

// Keys returns the signing key set, for the JWKS endpoint (RFC 7517 5).
func (a *App) Keys() *generates.KeySet { return a.keys }
