package oauth2

import (
	"context"
	"errors"
)

// ErrExists: a record with that key already exists. DocumentStore's
// CreateDocument wraps it; the standalone server answers 409 Conflict.
var ErrExists = errors.New("oauth2: already exists")

// MaxDocumentBytes bounds the body of one document. Stores refuse a larger
// body with an error (not ErrExists or ErrNotFound).
const MaxDocumentBytes = 64 << 10

// Document is one record of a DocumentStore listing.
type Document struct {
	// ID is the document's key within its kind.
	ID string
	// Body is the document as the caller stored it (JSON by convention).
	Body []byte
}

// DocumentStore is an optional capability of a TokenStore: records without
// expiry that an administrator manages while the server runs, such as
// clients and users kept in the store (docs/architecture.md section 4).
// Every server process that uses the same store sees the same documents.
// Callers find it with a type assertion on the TokenStore.
//
// A document is addressed by a kind (a short ASCII name chosen by the
// caller, such as "client" or "user") and an ID within it, both non-empty
// and at most 255 bytes. Bodies are opaque to the store. Every method is
// atomic across processes.
type DocumentStore interface {
	// CreateDocument stores body under (kind, id) if nothing is stored
	// there, and returns an error wrapping ErrExists otherwise: of
	// concurrent creators of one ID exactly one succeeds.
	CreateDocument(ctx context.Context, kind, id string, body []byte) error
	// UpdateDocument replaces the body of an existing document, or returns
	// an error wrapping ErrNotFound.
	UpdateDocument(ctx context.Context, kind, id string, body []byte) error
	// GetDocument returns the body of a document, or an error wrapping
	// ErrNotFound.
	GetDocument(ctx context.Context, kind, id string) ([]byte, error)
	// DeleteDocument removes a document, or returns an error wrapping
	// ErrNotFound when there is none.
	DeleteDocument(ctx context.Context, kind, id string) error
	// ListDocuments returns up to limit documents of kind whose IDs sort
	// after the ID after (byte order; "" starts at the first), in
	// ascending ID order. A limit of zero or less is an error.
	ListDocuments(ctx context.Context, kind, after string, limit int) ([]Document, error)
	// DocumentsVersion returns a number that changes whenever a document
	// of kind is created, updated or deleted, in any process; writes of
	// other kinds and failed writes leave it unchanged. A kind never
	// written has version 0. A process that caches the documents of a
	// kind compares it to drop its cache, without being disturbed by
	// writes of other kinds.
	DocumentsVersion(ctx context.Context, kind string) (int64, error)
}

// errDocumentKey and errDocumentBody are CheckDocument's errors.
var (
	errDocumentKey  = errors.New("oauth2: document kind and ID must be 1 to 255 bytes of printable ASCII")
	errDocumentBody = errors.New("oauth2: document body is larger than MaxDocumentBytes")
)

// CheckDocument reports whether kind, id and body are acceptable to a
// DocumentStore: kind and id of 1 to 255 bytes of printable ASCII (no
// space), body at most MaxDocumentBytes. Every store calls it first, so
// that all stores refuse the same input.
func CheckDocument(kind, id string, body []byte) error {
	if !printableKey(kind) || !printableKey(id) {
		return errDocumentKey
	}
	if len(body) > MaxDocumentBytes {
		return errDocumentBody
	}
	return nil
}

// errListLimit is CheckListLimit's error.
var errListLimit = errors.New("oauth2: ListDocuments needs a positive limit")

// CheckListLimit reports whether limit is acceptable to ListDocuments: one
// or more. Every store calls it first, as CheckDocument.
func CheckListLimit(limit int) error {
	if limit <= 0 {
		return errListLimit
	}
	return nil
}

func printableKey(s string) bool {
	if len(s) == 0 || len(s) > 255 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] <= ' ' || s[i] >= 0x7f {
			return false
		}
	}
	return true
}
