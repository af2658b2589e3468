// Package dpop checks DPoP proofs (RFC 9449): the JWTs a client signs with
// its own key and sends in the DPoP header of each request, so that a token
// bound to that key is worthless to anyone who does not hold it.
//
// A Verifier checks every rule of RFC 9449 4.3 and remembers the jti of each
// proof it accepts in an oauth2.KVStore, so that a proof replayed to another
// process sharing the store is refused too (RFC 9449 11.1). The
// authorization server (package server) uses it at its token, pushed
// authorization and UserInfo endpoints; a resource server of its own uses it
// the same way:
//
//	v, _ := dpop.NewVerifier(dpop.Options{Replay: kv})
//	proof, err := v.VerifyRequest(ctx, r, "https://rs.example.com/api", accessToken)
//	// then: the token's cnf.jkt (JWT) or introspected cnf.jkt must be
//	// proof.Thumbprint (RFC 9449 7.1).
//
// Keys are parsed once: a proof's JOSE header (its alg, typ and jwk) is
// kept, parsed and with its RFC 7638 thumbprint, in a bounded cache keyed by
// the header's encoded bytes, since a client signs all its proofs with one
// key. The signature of every proof is verified, every time.
//
// https://www.rfc-editor.org/rfc/rfc9449
package dpop
