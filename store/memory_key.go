package store

import (
	"crypto/sha256"
	"encoding/base64"
)

// tkey is the map key of a code or token value.
type tkey [32]byte

// b64url decodes one base64url character (RFC 4648 5); 0xff marks any other
// byte.
var b64url = func() (t [256]byte) {
	for i := range t {
		t[i] = 0xff
	}
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
	for i := range len(alphabet) {
		t[alphabet[i]] = byte(i)
	}
	return t
}()

// keyOf returns the key of value v and whether it is a hash. A value of 43
// base64url characters in canonical form (256 bits: the shape of the
// library's codes and opaque tokens, docs/architecture.md section 3) is its own
// decoding, which costs no hash and lets the store give the value back; any
// other value (a JWT, a token of a custom generator) is its SHA-256. The
// flag keeps the two apart: base64url of a hash never finds the value it
// was the hash of.
func keyOf(v string) (k tkey, hashed bool) {
	if len(v) == 43 && decode43(&k, v) {
		return k, false
	}
	return sha256.Sum256([]byte(v)), true
}

// decode43 decodes 43 base64url characters into k, refusing anything but
// the canonical encoding of 32 bytes (unused trailing bits zero).
func decode43(k *tkey, v string) bool {
	for i, j := 0, 0; i < 40; i, j = i+4, j+3 {
		a, b, c, d := b64url[v[i]], b64url[v[i+1]], b64url[v[i+2]], b64url[v[i+3]]
		if (a|b|c|d)&0xc0 != 0 {
			return false
		}
		n := uint32(a)<<18 | uint32(b)<<12 | uint32(c)<<6 | uint32(d)
		k[j], k[j+1], k[j+2] = byte(n>>16), byte(n>>8), byte(n)
	}
	a, b, c := b64url[v[40]], b64url[v[41]], b64url[v[42]]
	if (a|b|c)&0xc0 != 0 || c&0x3 != 0 {
		return false
	}
	n := uint32(a)<<12 | uint32(b)<<6 | uint32(c)
	k[30], k[31] = byte(n>>10), byte(n>>2)
	return true
}

// valueOf gives back the value of an unhashed key.
func valueOf(k *tkey) string { return base64.RawURLEncoding.EncodeToString(k[:]) }
