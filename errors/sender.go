package errors

import "errors"

// Error codes of sender-constrained tokens and resource indicators: RFC
// 9449 (DPoP) 12.3 and RFC 8707 (resource indicators) 2, which RFC 8693
// (token exchange) 2.2.2 uses too.
var (
	// ErrInvalidDPoPProof: the DPoP proof is missing where one is needed,
	// malformed, or fails a check of RFC 9449 4.3.
	// https://www.rfc-editor.org/rfc/rfc9449#section-5
	ErrInvalidDPoPProof = errors.New("invalid_dpop_proof")
	// ErrUseDPoPNonce: the server requires a nonce it provides (in the
	// DPoP-Nonce response header) in the DPoP proof (RFC 9449 8, 9).
	ErrUseDPoPNonce = errors.New("use_dpop_nonce")
	// ErrInvalidTarget: the requested resource or audience is invalid,
	// unknown, or not allowed for the client (RFC 8707 2, RFC 8693 2.2.2).
	ErrInvalidTarget = errors.New("invalid_target")
)

// The codes above join the catalog: Lookup finds them and they have a
// default description. They are answered 400 at the token endpoint; a
// resource server answers invalid_dpop_proof and use_dpop_nonce with 401
// and a DPoP challenge (RFC 9449 7.1, 9), which it sets itself.
func init() {
	codes = append(codes, ErrInvalidDPoPProof, ErrUseDPoPNonce, ErrInvalidTarget)
	Descriptions[ErrInvalidDPoPProof] = "The DPoP proof is missing or invalid"
	Descriptions[ErrUseDPoPNonce] = "The DPoP proof must carry the nonce the server provided in the DPoP-Nonce header"
	Descriptions[ErrInvalidTarget] = "The requested resource is invalid, unknown, or not allowed for this client"
}
