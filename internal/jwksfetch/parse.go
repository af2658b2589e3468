package jwksfetch

import (
	"bytes"
	"encoding/json"
	stderrors "errors"
	"fmt"

	"github.com/go-jose/go-jose/v4"
)

// MaxKeys is the largest number of keys a set may hold.
const MaxKeys = 32

// Errors of Parse.
var (
	// ErrInvalidSet matches the error of a document that is not a JWK Set
	// (RFC 7517 5) with at least one usable public key.
	ErrInvalidSet = stderrors.New("jwksfetch: not a JWK Set with a usable public key")
	// ErrPrivateKey matches the error of a set that holds a private or
	// symmetric key: a client publishes only public keys (RFC 7591 2
	// jwks_uri), and a set that does not is refused whole.
	ErrPrivateKey = stderrors.New("jwksfetch: JWK Set holds a private or symmetric key")
)

// privateMembers are the members that make a JWK private or symmetric (RFC
// 7518 6.2.2, 6.3.2, 6.4.1; RFC 8037 2).
var privateMembers = []string{"d", "p", "q", "dp", "dq", "qi", "oth", "k"}

// Parse reads a JWK Set (RFC 7517 5) of public keys: an object whose
// "keys" is an array of at most MaxKeys JWKs. A key holding a private or
// symmetric member refuses the set (ErrPrivateKey); a key this library
// cannot read is ignored (RFC 7517 5: "implementations SHOULD ignore JWKs
// ... that use kty values that are not understood"); a set left with no
// public key is refused (ErrInvalidSet).
func Parse(b []byte) (*jose.JSONWebKeySet, error) {
	var doc struct {
		Keys []json.RawMessage `json:"keys"`
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	if err := dec.Decode(&doc); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalidSet, err)
	}
	if dec.More() {
		return nil, fmt.Errorf("%w: data after the set", ErrInvalidSet)
	}
	if len(doc.Keys) > MaxKeys {
		return nil, fmt.Errorf("%w: more than %d keys", ErrInvalidSet, MaxKeys)
	}
	set := &jose.JSONWebKeySet{}
	for i, raw := range doc.Keys {
		var members map[string]json.RawMessage
		if err := json.Unmarshal(raw, &members); err != nil {
			return nil, fmt.Errorf("%w: key %d is not an object", ErrInvalidSet, i)
		}
		for _, m := range privateMembers {
			if _, ok := members[m]; ok {
				return nil, fmt.Errorf("%w: key %d", ErrPrivateKey, i)
			}
		}
		var k jose.JSONWebKey
		if err := k.UnmarshalJSON(raw); err != nil {
			continue
		}
		if !k.IsPublic() || !k.Valid() {
			return nil, fmt.Errorf("%w: key %d", ErrPrivateKey, i)
		}
		set.Keys = append(set.Keys, k)
	}
	if len(set.Keys) == 0 {
		return nil, fmt.Errorf("%w: no usable public key", ErrInvalidSet)
	}
	return set, nil
}
