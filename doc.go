// Package oauth2 holds the types and interfaces shared by the packages of an
// OAuth 2.0 authorization server (RFC 6749): grant and response types, the
// client and token models, the storage and generator interfaces, and the
// Manager that implements the grants.
//
// It has no dependencies beyond the standard library. Implementations live in
// the sub-packages: manage (grant logic), server (HTTP endpoints), store
// (memory stores and the conformance kit), generates (token generators),
// models (plain structs) and errors (the RFC error catalog).
package oauth2
