package generates

import (
	"crypto"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// keyRecord is the encoded form of a SigningKey (EncodeKeys).
type keyRecord struct {
	KeyID string `json:"kid"`
	Alg   string `json:"alg"`
	// Key is a PKCS#8 PEM private key, or the base64url HMAC secret.
	Key       string `json:"key"`
	NotBefore int64  `json:"nbf,omitempty"` // Unix nanoseconds
	NotAfter  int64  `json:"naf,omitempty"` // Unix nanoseconds
	// Secondary is SigningKey.Secondary; absent (false) in what earlier
	// versions wrote, which reads as it did.
	Secondary bool `json:"sec,omitempty"`
}

// maxEncodedKeys bounds what DecodeKeys reads: a key set holds a few keys.
const maxEncodedKeys = 64

// ErrBadKeys: DecodeKeys was given something EncodeKeys did not make.
var ErrBadKeys = errors.New("generates: encoded keys do not decode")

// EncodeKeys encodes keys, such as KeySet.Keys returns them, with their
// private parts and times, for a store that several processes share:
// DecodeKeys reads them back for KeySet.Load. The result is secret; keep
// it encrypted at rest.
func EncodeKeys(keys []SigningKey) ([]byte, error) {
	recs := make([]keyRecord, 0, len(keys))
	for _, k := range keys {
		if k.Method == nil {
			return nil, fmt.Errorf("%w: key %q has no signing method", ErrUnsupportedAlgorithm, k.KeyID)
		}
		r := keyRecord{KeyID: k.KeyID, Alg: k.Method.Alg(), NotBefore: unixNano(k.NotBefore), NotAfter: unixNano(k.NotAfter),
			Secondary: k.Secondary}
		switch key := k.Key.(type) {
		case []byte:
			r.Key = base64.RawURLEncoding.EncodeToString(key)
		case crypto.Signer:
			pemBytes, err := MarshalPrivateKeyPEM(key)
			if err != nil {
				return nil, err
			}
			r.Key = string(pemBytes)
		default:
			return nil, fmt.Errorf("%w: key %q is a %T", ErrInvalidKey, k.KeyID, k.Key)
		}
		recs = append(recs, r)
	}
	out, err := json.Marshal(recs)
	if err != nil {
		return nil, fmt.Errorf("generates: encode keys: %w", err)
	}
	return out, nil
}

// DecodeKeys reads what EncodeKeys wrote. Each key is parsed and checked
// against its algorithm as KeySet.Add checks it; the times come back to
// the nanosecond.
func DecodeKeys(data []byte) ([]SigningKey, error) {
	var recs []keyRecord
	if err := json.Unmarshal(data, &recs); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrBadKeys, err)
	}
	if len(recs) > maxEncodedKeys {
		return nil, fmt.Errorf("%w: %d keys, at most %d", ErrBadKeys, len(recs), maxEncodedKeys)
	}
	out := make([]SigningKey, 0, len(recs))
	for _, r := range recs {
		method := jwt.GetSigningMethod(r.Alg)
		if method == nil || r.Alg == "none" {
			return nil, fmt.Errorf("%w: %q", ErrUnsupportedAlgorithm, r.Alg)
		}
		var key any
		if _, ok := method.(*jwt.SigningMethodHMAC); ok {
			secret, err := base64.RawURLEncoding.DecodeString(r.Key)
			if err != nil {
				return nil, fmt.Errorf("%w: key %q: %w", ErrBadKeys, r.KeyID, err)
			}
			key = secret
		} else {
			var err error
			if key, err = ParseSigningKey([]byte(r.Key), method); err != nil {
				return nil, fmt.Errorf("key %q: %w", r.KeyID, err)
			}
		}
		if _, err := newSigningKey(r.KeyID, method, key, true); err != nil {
			return nil, fmt.Errorf("key %q: %w", r.KeyID, err)
		}
		out = append(out, SigningKey{KeyID: r.KeyID, Method: method, Key: key,
			NotBefore: fromUnixNano(r.NotBefore), NotAfter: fromUnixNano(r.NotAfter), Secondary: r.Secondary})
	}
	return out, nil
}

func unixNano(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixNano()
}

func fromUnixNano(n int64) time.Time {
	if n == 0 {
		return time.Time{}
	}
	return time.Unix(0, n).UTC()
}
