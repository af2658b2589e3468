// Package generates makes authorization codes and tokens: opaque random
// values (the library default) and JWT access tokens in the profile of
// RFC 9068, signed with keys that can be rotated and published as a JWK Set
// (RFC 7517 5).
//
// Opaque codes and tokens carry 256 bits from crypto/rand, encoded as
// base64url without padding (RFC 4648 5), as RFC 9700 2.1 and RFC 6749 10.10
// ask. The time-ordered generators put the 48-bit issue time before those
// bits, so that the SQL stores index their values in order. JWT signing
// keys are parsed once, when a generator or a KeySet is built, never per
// token.
package generates
