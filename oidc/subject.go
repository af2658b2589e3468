package oidc

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"hash"
	"net/url"
	"slices"
	"strings"
	"sync"

	"github.com/oauth2d/oauth2"
)

// Subject identifier types of OpenID Connect Core 1.0 8.
// https://openid.net/specs/openid-connect-core-1_0.html#SubjectIDTypes
const (
	// SubjectPublic gives every client the same sub for an End-User: the
	// user ID. It is the default.
	SubjectPublic = "public"
	// SubjectPairwise gives each sector a different sub for an End-User,
	// so that clients of different sectors cannot correlate them (8.1).
	SubjectPairwise = "pairwise"
)

// SubjectClient is implemented by clients registered with a subject type
// (OpenID Connect Dynamic Client Registration 1.0 2 subject_type and
// sector_identifier_uri). A client that does not implement it, or returns
// "", gets public subject identifiers.
type SubjectClient interface {
	// GetSubjectType returns SubjectPublic, SubjectPairwise or "".
	GetSubjectType() string
	// GetSectorIdentifierURI returns the registered sector_identifier_uri,
	// "" when none. Its registration checks it lists every redirect URI
	// (CheckSectorIdentifierURI).
	GetSectorIdentifierURI() string
}

// MinPairwiseSecretBytes is the shortest secret NewSubjects accepts for
// pairwise identifiers: 256 bits, the output size of HMAC-SHA-256.
const MinPairwiseSecretBytes = 32

// Errors of subject identifiers. They are configuration or registration
// errors, never the End-User's: the server answers server_error.
var (
	// ErrPairwiseUnavailable: a client wants pairwise identifiers and the
	// server has no pairwise secret.
	ErrPairwiseUnavailable = errors.New("oidc: the client's subject_type is pairwise and the server has no pairwise secret")
	// ErrUnknownSubjectType: the client's subject_type is neither public
	// nor pairwise.
	ErrUnknownSubjectType = errors.New("oidc: unknown subject_type")
	// ErrNoSector: the client's sector identifier cannot be determined: no
	// redirect URI with a host, redirect URIs of several hosts without a
	// sector_identifier_uri (8.1), or a sector_identifier_uri that is not
	// an https URL.
	ErrNoSector = errors.New("oidc: cannot determine the client's sector identifier")
	// ErrNoUser: a subject identifier was asked for without a user.
	ErrNoUser = errors.New("oidc: no user to identify")
)

// Subjects computes the sub claim of an End-User for a client (OpenID
// Connect Core 1.0 8): the user ID for public clients, and for pairwise
// clients base64url(HMAC-SHA-256(secret, sector identifier, user ID)), a
// value that is the same for every client of one sector, differs between
// sectors, and reveals neither the user ID nor the secret (8.1). The ID
// token and the UserInfo endpoint must use the same Subjects, so that their
// sub agree (5.3.2).
//
// A nil *Subjects serves public identifiers only. A Subjects is safe for
// concurrent use.
type Subjects struct {
	macs sync.Pool // of hash.Hash keyed with the secret
}

// NewSubjects returns Subjects that serve pairwise identifiers with secret,
// at least MinPairwiseSecretBytes of random bytes kept by the server.
// Changing the secret changes every pairwise sub: keep it for the life of
// the clients.
func NewSubjects(secret []byte) (*Subjects, error) {
	if len(secret) < MinPairwiseSecretBytes {
		return nil, fmt.Errorf("oidc: a pairwise secret needs at least %d bytes, got %d", MinPairwiseSecretBytes, len(secret))
	}
	key := bytes.Clone(secret)
	s := &Subjects{}
	s.macs.New = func() any { return hmac.New(sha256.New, key) }
	return s, nil
}

// Types returns the subject types s serves, as a discovery document lists
// them in subject_types_supported: public, and pairwise when s has a
// secret.
func (s *Subjects) Types() []string {
	if s == nil {
		return []string{SubjectPublic}
	}
	return []string{SubjectPublic, SubjectPairwise}
}

// Subject returns the sub of the user userID for client (OpenID Connect
// Core 1.0 8): userID itself unless client is a SubjectClient whose subject
// type is pairwise, and then the pairwise identifier of its sector
// (SectorIdentifier).
func (s *Subjects) Subject(client oauth2.ClientInfo, userID string) (string, error) {
	if userID == "" {
		return "", ErrNoUser
	}
	sc, ok := client.(SubjectClient)
	if !ok {
		return userID, nil
	}
	switch sc.GetSubjectType() {
	case "", SubjectPublic:
		return userID, nil
	case SubjectPairwise:
	default:
		return "", fmt.Errorf("%w %q", ErrUnknownSubjectType, sc.GetSubjectType())
	}
	if s == nil {
		return "", ErrPairwiseUnavailable
	}
	sector, err := SectorIdentifier(client)
	if err != nil {
		return "", err
	}
	return s.pairwise(sector, userID), nil
}

// pairwise returns the pairwise identifier of userID in sector. The two
// are length-prefixed, so that no two (sector, user) pairs hash the same
// input.
func (s *Subjects) pairwise(sector, userID string) string {
	var buf [128]byte
	in := append(buf[:0], "oauth2d pairwise sub\x00"...)
	in = appendLength(in, len(sector))
	in = append(in, sector...)
	in = appendLength(in, len(userID))
	in = append(in, userID...)
	m := s.macs.Get().(hash.Hash)
	m.Reset()
	m.Write(in)
	var sum [sha256.Size]byte
	out := m.Sum(sum[:0])
	s.macs.Put(m)
	return base64.RawURLEncoding.EncodeToString(out)
}

func appendLength(b []byte, n int) []byte {
	return append(b, byte(n>>24), byte(n>>16), byte(n>>8), byte(n))
}

// SectorIdentifier returns the sector identifier of client (OpenID Connect
// Core 1.0 8.1): the host of its sector_identifier_uri when it registered
// one, else the host of its redirect URIs, which must all have the same
// host, else the host of the seed's Domain. Hosts are compared in lower
// case, without the port.
func SectorIdentifier(client oauth2.ClientInfo) (string, error) {
	if sc, ok := client.(SubjectClient); ok {
		if raw := sc.GetSectorIdentifierURI(); raw != "" {
			u, err := url.Parse(raw)
			if err != nil || u.Scheme != "https" || u.Hostname() == "" {
				return "", fmt.Errorf("%w: the sector_identifier_uri must be an https URL (OpenID Connect Core 1.0 8.1)", ErrNoSector)
			}
			return strings.ToLower(u.Hostname()), nil
		}
	}
	var uris []string
	if cm, ok := client.(oauth2.ClientMetadata); ok {
		uris = cm.GetRedirectURIs()
	}
	if len(uris) == 0 && client.GetDomain() != "" {
		uris = []string{client.GetDomain()}
	}
	sector := ""
	for _, raw := range uris {
		u, err := url.Parse(raw)
		if err != nil || u.Hostname() == "" {
			return "", fmt.Errorf("%w: a redirect URI has no host; register a sector_identifier_uri", ErrNoSector)
		}
		h := strings.ToLower(u.Hostname())
		if sector != "" && h != sector {
			return "", fmt.Errorf("%w: redirect URIs of several hosts need a sector_identifier_uri (OpenID Connect Core 1.0 8.1)", ErrNoSector)
		}
		sector = h
	}
	if sector == "" {
		return "", fmt.Errorf("%w: the client has no redirect URI", ErrNoSector)
	}
	return sector, nil
}

// ErrInvalidSectorIdentifier: a sector_identifier_uri is not an https URL,
// or the document it points to does not list every redirect URI of the
// client (OpenID Connect Core 1.0 8.1, Dynamic Client Registration 1.0 5).
// Registration answers invalid_client_metadata.
var ErrInvalidSectorIdentifier = errors.New("oidc: invalid sector_identifier_uri")

// CheckSectorIdentifierURI checks a client's sector_identifier_uri at
// registration: it must be an https URL, and listed, the JSON array of URIs
// its document holds (fetched by the caller, over https), must contain every
// one of redirectURIs, compared as exact strings (OpenID Connect Core 1.0
// 8.1).
func CheckSectorIdentifierURI(sectorURI string, listed, redirectURIs []string) error {
	u, err := url.Parse(sectorURI)
	if err != nil || u.Scheme != "https" || u.Hostname() == "" || u.Fragment != "" {
		return fmt.Errorf("%w: it must be an https URL without a fragment", ErrInvalidSectorIdentifier)
	}
	for _, r := range redirectURIs {
		if !slices.Contains(listed, r) {
			return fmt.Errorf("%w: its document does not list every redirect URI", ErrInvalidSectorIdentifier)
		}
	}
	return nil
}
