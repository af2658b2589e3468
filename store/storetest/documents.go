package storetest

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/oauth2d/oauth2"
)

// DocumentHarness tells TestDocumentStore how to make document stores of
// one kind.
type DocumentHarness struct {
	// New returns a fresh, empty store. It registers its own cleanup with
	// t.Cleanup.
	New func(t *testing.T) oauth2.DocumentStore
	// Reopen, when set, opens a second, independent handle (own
	// connections) on the same data as d, as another server process would;
	// the kit then checks that changes and the DocumentsVersion of each
	// kind are shared.
	Reopen func(t *testing.T, d oauth2.DocumentStore) oauth2.DocumentStore
}

// testDocuments runs TestDocumentStore on the token stores of h when they
// implement oauth2.DocumentStore, so that every store's existing kit entry
// point checks the capability.
func testDocuments(t *testing.T, h Harness) {
	probe := h.New(t, NewClock(start()).Now)
	if _, ok := probe.(oauth2.DocumentStore); !ok {
		t.Log("the store does not implement oauth2.DocumentStore: nothing to check")
		return
	}
	dh := DocumentHarness{
		New: func(t *testing.T) oauth2.DocumentStore {
			return h.New(t, NewClock(start()).Now).(oauth2.DocumentStore)
		},
	}
	if h.Reopen != nil {
		dh.Reopen = func(t *testing.T, d oauth2.DocumentStore) oauth2.DocumentStore {
			other, ok := h.Reopen(t, d.(oauth2.TokenStore), NewClock(start()).Now).(oauth2.DocumentStore)
			if !ok {
				t.Fatal("Harness.Reopen returned a store that is not an oauth2.DocumentStore")
			}
			return other
		}
	}
	TestDocumentStore(t, dh)
}

// TestDocumentStore checks the oauth2.DocumentStore contract
// (docs/architecture.md section 4): create, update, get and delete keep
// their meaning and change the DocumentsVersion of their kind exactly when
// they change something, and never that of another kind; listing is in byte order with an exclusive cursor; bad input
// changes nothing; concurrent creators of one ID have exactly one winner,
// also across handles when h.Reopen is set.
func TestDocumentStore(t *testing.T, h DocumentHarness) {
	if h.New == nil {
		t.Fatal("storetest: DocumentHarness.New is nil")
	}
	checks := []struct {
		name string
		run  func(t *testing.T, d *docEnv)
	}{
		{"CreateGetUpdateDeleteRoundTrip", testDocRoundTrip},
		{"CreateOfExistingIDIsErrExistsAndKeepsBody", testDocCreateExisting},
		{"UpdateOrDeleteOfMissingIDIsNotFoundAndCreatesNothing", testDocMissing},
		{"KindsAreIsolated", testDocKinds},
		{"ListIsAscendingInByteOrder", testDocListOrder},
		{"ListPagesWithTheAfterCursor", testDocListPages},
		{"ListTreatsIDsAsBytesNotPatterns", testDocListPatterns},
		{"ListNeedsAPositiveLimit", testDocListLimit},
		{"BodyOfMaxDocumentBytesIsKeptExactly", testDocMaxBody},
		{"BodyOverMaxDocumentBytesIsRefusedAndChangesNothing", testDocBodyTooLarge},
		{"EmptyBodyIsKept", testDocEmptyBody},
		{"InvalidKindOrIDIsRefusedAndChangesNothing", testDocInvalidKey},
		{"BodiesAreCopies", testDocCopies},
		{"VersionChangesOnEveryChangeAndOnlyThen", testDocVersion},
		{"WriteOfOneKindLeavesTheVersionOfOthers", testDocVersionPerKind},
		{"VersionOfAKindNeverWrittenIsStableAtZero", testDocVersionNeverWritten},
		{"ConcurrentWritesOfDifferentKindsAllLand", testDocConcurrentKinds},
		{"ConcurrentCreatesOfOneIDHaveOneWinner", testDocConcurrentCreate},
		{"ConcurrentUpdatesOfDifferentIDsAllLand", testDocConcurrentUpdate},
	}
	if h.Reopen != nil {
		checks = append(checks, []struct {
			name string
			run  func(t *testing.T, d *docEnv)
		}{
			{"SecondHandleSeesChangesAndVersion", testDocSecondHandle},
			{"ConcurrentCreatesAcrossHandlesHaveOneWinner", testDocCreateAcrossHandles},
		}...)
	}
	for _, c := range checks {
		t.Run(c.name, func(t *testing.T) {
			d := h.New(t)
			if d == nil {
				t.Fatal("DocumentHarness.New returned nil")
			}
			c.run(t, &docEnv{t: t, d: d, ctx: t.Context(), h: h})
		})
	}
}

// docEnv is one fresh document store.
type docEnv struct {
	t   *testing.T
	d   oauth2.DocumentStore
	ctx context.Context
	h   DocumentHarness
}

const docKind = "client"

func (e *docEnv) create(kind, id string, body []byte) {
	e.t.Helper()
	if err := e.d.CreateDocument(e.ctx, kind, id, body); err != nil {
		e.t.Fatalf("CreateDocument(%q, %q): %v", kind, id, err)
	}
}

// body asserts that (kind, id) holds want.
func (e *docEnv) body(d oauth2.DocumentStore, kind, id string, want []byte) {
	e.t.Helper()
	got, err := d.GetDocument(e.ctx, kind, id)
	if err != nil {
		e.t.Fatalf("GetDocument(%q, %q): %v, want the body", kind, id, err)
	}
	if !bytes.Equal(got, want) {
		e.t.Fatalf("GetDocument(%q, %q) = %s, want %s", kind, id, show(got), show(want))
	}
}

// absent asserts that (kind, id) holds nothing.
func (e *docEnv) absent(d oauth2.DocumentStore, kind, id, why string) {
	e.t.Helper()
	got, err := d.GetDocument(e.ctx, kind, id)
	if !errors.Is(err, oauth2.ErrNotFound) {
		e.t.Fatalf("%s: GetDocument(%q, %q) = (%s, %v), want ErrNotFound", why, kind, id, show(got), err)
	}
}

func (e *docEnv) version(d oauth2.DocumentStore, kind string) int64 {
	e.t.Helper()
	v, err := d.DocumentsVersion(e.ctx, kind)
	if err != nil {
		e.t.Fatalf("DocumentsVersion(%q): %v", kind, err)
	}
	return v
}

// versions returns the DocumentsVersion of each of kinds.
func (e *docEnv) versions(d oauth2.DocumentStore, kinds []string) map[string]int64 {
	e.t.Helper()
	vs := make(map[string]int64, len(kinds))
	for _, k := range kinds {
		vs[k] = e.version(d, k)
	}
	return vs
}

// list returns every document of kind, page by page of limit, checking
// that each page is full but the last.
func (e *docEnv) list(d oauth2.DocumentStore, kind string, limit int) (ids []string, pages []int) {
	e.t.Helper()
	after := ""
	for {
		page, err := d.ListDocuments(e.ctx, kind, after, limit)
		if err != nil {
			e.t.Fatalf("ListDocuments(%q, %q, %d): %v", kind, after, limit, err)
		}
		if len(page) > limit {
			e.t.Fatalf("ListDocuments(%q, %q, %d) returned %d documents", kind, after, limit, len(page))
		}
		if len(page) == 0 {
			return ids, pages
		}
		pages = append(pages, len(page))
		for _, doc := range page {
			ids = append(ids, doc.ID)
		}
		after = page[len(page)-1].ID
	}
}

// show describes a body in a failure message: short bodies as text.
func show(b []byte) string {
	if len(b) > 64 {
		return fmt.Sprintf("%d bytes %q...", len(b), b[:32])
	}
	return fmt.Sprintf("%q", b)
}

func testDocRoundTrip(t *testing.T, e *docEnv) {
	e.create(docKind, "app-1", []byte(`{"name":"one"}`))
	e.body(e.d, docKind, "app-1", []byte(`{"name":"one"}`))
	if err := e.d.UpdateDocument(e.ctx, docKind, "app-1", []byte(`{"name":"two"}`)); err != nil {
		t.Fatalf("UpdateDocument: %v", err)
	}
	e.body(e.d, docKind, "app-1", []byte(`{"name":"two"}`))
	// The same body again is still an update of an existing document.
	if err := e.d.UpdateDocument(e.ctx, docKind, "app-1", []byte(`{"name":"two"}`)); err != nil {
		t.Fatalf("UpdateDocument with an unchanged body: %v", err)
	}
	if err := e.d.DeleteDocument(e.ctx, docKind, "app-1"); err != nil {
		t.Fatalf("DeleteDocument: %v", err)
	}
	e.absent(e.d, docKind, "app-1", "after DeleteDocument")
	// A deleted ID may be created again.
	e.create(docKind, "app-1", []byte(`{"name":"three"}`))
	e.body(e.d, docKind, "app-1", []byte(`{"name":"three"}`))
}

func testDocCreateExisting(t *testing.T, e *docEnv) {
	e.create(docKind, "app-1", []byte("first"))
	v := e.version(e.d, docKind)
	err := e.d.CreateDocument(e.ctx, docKind, "app-1", []byte("second"))
	if !errors.Is(err, oauth2.ErrExists) {
		t.Fatalf("CreateDocument of an existing ID = %v, want ErrExists", err)
	}
	e.body(e.d, docKind, "app-1", []byte("first"))
	if got := e.version(e.d, docKind); got != v {
		t.Fatalf("DocumentsVersion changed from %d to %d on a refused create", v, got)
	}
}

func testDocMissing(t *testing.T, e *docEnv) {
	e.create(docKind, "present", []byte("x"))
	tests := []struct {
		name string
		op   func() error
	}{
		{"UpdateDocument", func() error { return e.d.UpdateDocument(e.ctx, docKind, "missing", []byte("y")) }},
		{"DeleteDocument", func() error { return e.d.DeleteDocument(e.ctx, docKind, "missing") }},
		{"UpdateDocumentOtherKind", func() error { return e.d.UpdateDocument(e.ctx, "user", "present", []byte("y")) }},
		{"DeleteDocumentOtherKind", func() error { return e.d.DeleteDocument(e.ctx, "user", "present") }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			kinds := []string{docKind, "user"}
			v := e.versions(e.d, kinds)
			if err := tt.op(); !errors.Is(err, oauth2.ErrNotFound) {
				t.Fatalf("%s of a missing ID = %v, want ErrNotFound", tt.name, err)
			}
			if got := e.versions(e.d, kinds); !maps.Equal(got, v) {
				t.Fatalf("DocumentsVersion changed from %v to %v on a failed %s", v, got, tt.name)
			}
		})
	}
	e.absent(e.d, docKind, "missing", "after the failed updates")
	e.absent(e.d, "user", "present", "after the failed updates")
	e.body(e.d, docKind, "present", []byte("x"))
	for _, kind := range []string{docKind, "user"} {
		ids, _ := e.list(e.d, kind, 10)
		want := map[string][]string{docKind: {"present"}, "user": nil}[kind]
		if !slices.Equal(ids, want) {
			t.Fatalf("ListDocuments(%q) = %q, want %q", kind, ids, want)
		}
	}
}

func testDocKinds(t *testing.T, e *docEnv) {
	e.create("client", "same", []byte("a client"))
	e.create("user", "same", []byte("a user"))
	e.create("consent/alice", "same", []byte("a consent"))
	e.body(e.d, "client", "same", []byte("a client"))
	e.body(e.d, "user", "same", []byte("a user"))
	e.body(e.d, "consent/alice", "same", []byte("a consent"))
	if err := e.d.UpdateDocument(e.ctx, "user", "same", []byte("a user, changed")); err != nil {
		t.Fatal(err)
	}
	if err := e.d.DeleteDocument(e.ctx, "client", "same"); err != nil {
		t.Fatal(err)
	}
	e.absent(e.d, "client", "same", "deleted in its kind")
	e.body(e.d, "user", "same", []byte("a user, changed"))
	e.body(e.d, "consent/alice", "same", []byte("a consent"))
	// A kind that is a prefix of another lists only its own documents.
	e.create("consent/al", "other", []byte("x"))
	for kind, want := range map[string][]string{
		"client": nil, "user": {"same"}, "consent/alice": {"same"}, "consent/al": {"other"}, "consent": nil,
	} {
		ids, _ := e.list(e.d, kind, 10)
		if !slices.Equal(ids, want) {
			t.Fatalf("ListDocuments(%q) = %q, want %q", kind, ids, want)
		}
	}
}

func testDocListOrder(t *testing.T, e *docEnv) {
	ids := []string{"b", "B", "a", "A", "aa", "a0", "Z", "z", "~", "!", "0", "10", "9", "a-b", "a_b", "a.b", "a/b", "a:b", "a%b"}
	for _, id := range ids {
		e.create(docKind, id, []byte("body of "+id))
	}
	want := slices.Clone(ids)
	slices.Sort(want) // Go compares strings byte by byte
	for _, limit := range []int{1, 3, len(ids), 1000} {
		got, _ := e.list(e.d, docKind, limit)
		if !slices.Equal(got, want) {
			t.Fatalf("ListDocuments with limit %d = %q, want %q", limit, got, want)
		}
	}
	page, err := e.d.ListDocuments(e.ctx, docKind, "", len(ids))
	if err != nil {
		t.Fatal(err)
	}
	for _, doc := range page {
		if string(doc.Body) != "body of "+doc.ID {
			t.Fatalf("ListDocuments: %q has body %s", doc.ID, show(doc.Body))
		}
	}
}

func testDocListPages(t *testing.T, e *docEnv) {
	var want []string
	for i := range 25 {
		id := fmt.Sprintf("app-%02d", i)
		want = append(want, id)
		e.create(docKind, id, []byte(id))
	}
	got, pages := e.list(e.d, docKind, 10)
	if !slices.Equal(pages, []int{10, 10, 5}) {
		t.Fatalf("pages of limit 10 = %v, want [10 10 5]", pages)
	}
	if !slices.Equal(got, want) {
		t.Fatalf("IDs over the pages = %q, want %q (no duplicate, none missed)", got, want)
	}
	tests := []struct {
		name, after string
		limit       int
		want        []string
	}{
		{"AfterIsExclusive", "app-03", 2, []string{"app-04", "app-05"}},
		{"AfterBetweenIDs", "app-03x", 2, []string{"app-04", "app-05"}},
		{"AfterBeforeAll", "", 1, []string{"app-00"}},
		{"AfterAShorterPrefix", "app-", 1, []string{"app-00"}},
		{"AfterTheLast", "app-24", 10, nil},
		{"AfterBeyondAll", "zzz", 10, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			page, err := e.d.ListDocuments(e.ctx, docKind, tt.after, tt.limit)
			if err != nil {
				t.Fatal(err)
			}
			var ids []string
			for _, doc := range page {
				ids = append(ids, doc.ID)
			}
			if !slices.Equal(ids, tt.want) {
				t.Fatalf("ListDocuments(after %q, limit %d) = %q, want %q", tt.after, tt.limit, ids, tt.want)
			}
		})
	}
}

func testDocListPatterns(t *testing.T, e *docEnv) {
	// Characters that are wildcards or separators somewhere (SQL LIKE,
	// glob, paths, Redis key segments) are plain bytes of an ID.
	ids := []string{"%", "%%", "_", "a%", "a_", "ab", "a/b", "a:b", "a*", "a[", "a\\", "a?", `a"`, "a'", "a;"}
	for _, id := range ids {
		e.create(docKind, id, []byte(id))
	}
	e.create("%", "x", []byte("kind %"))
	e.create("_", "x", []byte("kind _"))
	want := slices.Clone(ids)
	slices.Sort(want)
	for _, after := range append([]string{""}, want...) {
		page, err := e.d.ListDocuments(e.ctx, docKind, after, 100)
		if err != nil {
			t.Fatalf("ListDocuments(after %q): %v", after, err)
		}
		var got []string
		for _, doc := range page {
			got = append(got, doc.ID)
			if string(doc.Body) != doc.ID {
				t.Fatalf("ListDocuments: %q has body %s", doc.ID, show(doc.Body))
			}
		}
		var exp []string
		for _, id := range want {
			if id > after {
				exp = append(exp, id)
			}
		}
		if !slices.Equal(got, exp) {
			t.Fatalf("ListDocuments(after %q) = %q, want %q", after, got, exp)
		}
	}
	for _, id := range ids {
		e.body(e.d, docKind, id, []byte(id))
	}
	e.body(e.d, "%", "x", []byte("kind %"))
	e.body(e.d, "_", "x", []byte("kind _"))
	for _, kind := range []string{"%", "_"} {
		got, _ := e.list(e.d, kind, 10)
		if !slices.Equal(got, []string{"x"}) {
			t.Fatalf("ListDocuments(%q) = %q, want [x]", kind, got)
		}
	}
	e.absent(e.d, docKind, "a", "no pattern matches")
	if err := e.d.DeleteDocument(e.ctx, docKind, "a_"); err != nil {
		t.Fatal(err)
	}
	e.body(e.d, docKind, "ab", []byte("ab"))
	e.body(e.d, docKind, "a%", []byte("a%"))
}

func testDocListLimit(t *testing.T, e *docEnv) {
	e.create(docKind, "app-1", []byte("x"))
	for _, limit := range []int{0, -1, -1 << 31} {
		page, err := e.d.ListDocuments(e.ctx, docKind, "", limit)
		if err == nil {
			t.Fatalf("ListDocuments with limit %d = %d documents, want an error", limit, len(page))
		}
		if errors.Is(err, oauth2.ErrNotFound) || errors.Is(err, oauth2.ErrUnavailable) {
			t.Fatalf("ListDocuments with limit %d = %v, want an error of the argument", limit, err)
		}
	}
	page, err := e.d.ListDocuments(e.ctx, "user", "", 5)
	if err != nil || len(page) != 0 {
		t.Fatalf("ListDocuments of an empty kind = %d documents, %v; want none and no error", len(page), err)
	}
}

func randomBody(t *testing.T, n int) []byte {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return b
}

func testDocMaxBody(t *testing.T, e *docEnv) {
	// Random bytes: NULs, invalid UTF-8 and every byte value come through.
	big := randomBody(t, oauth2.MaxDocumentBytes)
	e.create(docKind, "big", big)
	e.body(e.d, docKind, "big", big)
	other := randomBody(t, oauth2.MaxDocumentBytes)
	if err := e.d.UpdateDocument(e.ctx, docKind, "big", other); err != nil {
		t.Fatalf("UpdateDocument with MaxDocumentBytes: %v", err)
	}
	e.body(e.d, docKind, "big", other)
	page, err := e.d.ListDocuments(e.ctx, docKind, "", 1)
	if err != nil || len(page) != 1 || !bytes.Equal(page[0].Body, other) {
		t.Fatalf("ListDocuments did not return the body byte for byte (%d documents, %v)", len(page), err)
	}
}

func testDocBodyTooLarge(t *testing.T, e *docEnv) {
	tooBig := randomBody(t, oauth2.MaxDocumentBytes+1)
	v := e.version(e.d, docKind)
	err := e.d.CreateDocument(e.ctx, docKind, "big", tooBig)
	if err == nil || errors.Is(err, oauth2.ErrExists) || errors.Is(err, oauth2.ErrNotFound) || errors.Is(err, oauth2.ErrUnavailable) {
		t.Fatalf("CreateDocument of MaxDocumentBytes+1 = %v, want an error of the argument", err)
	}
	e.absent(e.d, docKind, "big", "after a refused create")
	if got := e.version(e.d, docKind); got != v {
		t.Fatalf("DocumentsVersion changed from %d to %d on a refused create", v, got)
	}
	e.create(docKind, "small", []byte("small"))
	v = e.version(e.d, docKind)
	err = e.d.UpdateDocument(e.ctx, docKind, "small", tooBig)
	if err == nil || errors.Is(err, oauth2.ErrNotFound) || errors.Is(err, oauth2.ErrUnavailable) {
		t.Fatalf("UpdateDocument of MaxDocumentBytes+1 = %v, want an error of the argument", err)
	}
	e.body(e.d, docKind, "small", []byte("small"))
	if got := e.version(e.d, docKind); got != v {
		t.Fatalf("DocumentsVersion changed from %d to %d on a refused update", v, got)
	}
}

func testDocEmptyBody(t *testing.T, e *docEnv) {
	e.create(docKind, "nil", nil)
	e.create(docKind, "empty", []byte{})
	for _, id := range []string{"nil", "empty"} {
		got, err := e.d.GetDocument(e.ctx, docKind, id)
		if err != nil || len(got) != 0 {
			t.Fatalf("GetDocument of %s body = %s, %v; want an empty body", id, show(got), err)
		}
	}
	if err := e.d.UpdateDocument(e.ctx, docKind, "empty", []byte("now full")); err != nil {
		t.Fatal(err)
	}
	if err := e.d.UpdateDocument(e.ctx, docKind, "empty", nil); err != nil {
		t.Fatal(err)
	}
	got, err := e.d.GetDocument(e.ctx, docKind, "empty")
	if err != nil || len(got) != 0 {
		t.Fatalf("GetDocument after an update to nil = %s, %v; want an empty body", show(got), err)
	}
}

func testDocInvalidKey(t *testing.T, e *docEnv) {
	e.create(docKind, "valid", []byte("v"))
	long := strings.Repeat("k", 256)
	tests := []struct{ name, kind, id string }{
		{"EmptyKind", "", "valid"},
		{"EmptyID", docKind, ""},
		{"SpaceInKind", "my client", "valid"},
		{"SpaceInID", docKind, "my app"},
		{"NonASCIIKind", "clïent", "valid"},
		{"NonASCIIID", docKind, "äpp"},
		{"ControlCharacterInID", docKind, "app\n"},
		{"NULInID", docKind, "app\x00"},
		{"DELInID", docKind, "app\x7f"},
		{"KindOf256Bytes", long, "valid"},
		{"IDOf256Bytes", docKind, long},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := e.version(e.d, docKind)
			ops := []struct {
				op  string
				err error
			}{
				{"CreateDocument", e.d.CreateDocument(e.ctx, tt.kind, tt.id, []byte("x"))},
				{"UpdateDocument", e.d.UpdateDocument(e.ctx, tt.kind, tt.id, []byte("x"))},
				{"DeleteDocument", e.d.DeleteDocument(e.ctx, tt.kind, tt.id)},
			}
			_, err := e.d.GetDocument(e.ctx, tt.kind, tt.id)
			ops = append(ops, struct {
				op  string
				err error
			}{"GetDocument", err})
			for _, o := range ops {
				if o.err == nil || errors.Is(o.err, oauth2.ErrExists) || errors.Is(o.err, oauth2.ErrUnavailable) {
					t.Errorf("%s(%q, %q) = %v, want an error of the argument", o.op, show([]byte(tt.kind)), show([]byte(tt.id)), o.err)
				}
			}
			if got := e.version(e.d, docKind); got != v {
				t.Fatalf("DocumentsVersion changed from %d to %d on refused input", v, got)
			}
		})
	}
	// 255 bytes is the longest kind and ID.
	longest := strings.Repeat("k", 255)
	e.create(longest, longest, []byte("longest"))
	e.body(e.d, longest, longest, []byte("longest"))
	e.body(e.d, docKind, "valid", []byte("v"))
	ids, _ := e.list(e.d, docKind, 10)
	if !slices.Equal(ids, []string{"valid"}) {
		t.Fatalf("ListDocuments after refused input = %q, want [valid]", ids)
	}
}

func testDocCopies(t *testing.T, e *docEnv) {
	body := []byte("original")
	e.create(docKind, "app", body)
	copy(body, "MUTATED!")
	e.body(e.d, docKind, "app", []byte("original"))
	upd := []byte("updated")
	if err := e.d.UpdateDocument(e.ctx, docKind, "app", upd); err != nil {
		t.Fatal(err)
	}
	copy(upd, "XXXXXXX")
	e.body(e.d, docKind, "app", []byte("updated"))
	got, err := e.d.GetDocument(e.ctx, docKind, "app")
	if err != nil {
		t.Fatal(err)
	}
	copy(got, "YYYYYYY")
	e.body(e.d, docKind, "app", []byte("updated"))
	page, err := e.d.ListDocuments(e.ctx, docKind, "", 1)
	if err != nil || len(page) != 1 {
		t.Fatalf("ListDocuments = %d documents, %v", len(page), err)
	}
	copy(page[0].Body, "ZZZZZZZ")
	e.body(e.d, docKind, "app", []byte("updated"))
}

// testDocVersion follows the versions of two kinds through every
// operation: only a successful write changes a version, and only that of
// its own kind.
func testDocVersion(t *testing.T, e *docEnv) {
	kinds := []string{docKind, "user"}
	v := e.versions(e.d, kinds)
	// step runs op and checks that the version of changed ("" for none)
	// changed and every other stayed.
	step := func(name, changed string, op func() error, wantErr error) {
		t.Helper()
		err := op()
		switch {
		case wantErr == nil && err != nil:
			t.Fatalf("%s: %v", name, err)
		case wantErr != nil && !errors.Is(err, wantErr):
			t.Fatalf("%s = %v, want %v", name, err, wantErr)
		}
		got := e.versions(e.d, kinds)
		for _, k := range kinds {
			if k == changed && got[k] == v[k] {
				t.Fatalf("DocumentsVersion(%q) stayed %d after %s", k, v[k], name)
			}
			if k != changed && got[k] != v[k] {
				t.Fatalf("DocumentsVersion(%q) changed from %d to %d after %s", k, v[k], got[k], name)
			}
		}
		v = got
	}
	body := []byte("b")
	get := func() error { _, err := e.d.GetDocument(e.ctx, docKind, "app"); return err }
	list := func() error { _, err := e.d.ListDocuments(e.ctx, docKind, "", 10); return err }
	step("CreateDocument", docKind, func() error { return e.d.CreateDocument(e.ctx, docKind, "app", body) }, nil)
	step("GetDocument", "", get, nil)
	step("ListDocuments", "", list, nil)
	step("CreateDocument of an existing ID", "", func() error { return e.d.CreateDocument(e.ctx, docKind, "app", body) }, oauth2.ErrExists)
	step("UpdateDocument", docKind, func() error { return e.d.UpdateDocument(e.ctx, docKind, "app", []byte("c")) }, nil)
	step("UpdateDocument with the same body", docKind, func() error { return e.d.UpdateDocument(e.ctx, docKind, "app", []byte("c")) }, nil)
	step("UpdateDocument of a missing ID", "", func() error { return e.d.UpdateDocument(e.ctx, docKind, "none", body) }, oauth2.ErrNotFound)
	step("CreateDocument of another kind", "user", func() error { return e.d.CreateDocument(e.ctx, "user", "app", body) }, nil)
	step("UpdateDocument of another kind", "user", func() error { return e.d.UpdateDocument(e.ctx, "user", "app", []byte("c")) }, nil)
	step("DeleteDocument", docKind, func() error { return e.d.DeleteDocument(e.ctx, docKind, "app") }, nil)
	step("DeleteDocument of a missing ID", "", func() error { return e.d.DeleteDocument(e.ctx, docKind, "app") }, oauth2.ErrNotFound)
	step("GetDocument of a missing ID", "", get, oauth2.ErrNotFound)
	step("ListDocuments with limit 0", "", func() error {
		if _, err := e.d.ListDocuments(e.ctx, docKind, "", 0); err == nil {
			return errors.New("no error")
		}
		return nil
	}, nil)
	step("DeleteDocument of another kind", "user", func() error { return e.d.DeleteDocument(e.ctx, "user", "app") }, nil)
}

// testDocVersionPerKind writes documents of one kind among kinds whose
// names share prefixes, as oauth2d's "grant/<username>" kinds do: each
// write changes the version of its kind and leaves every other's.
func testDocVersionPerKind(t *testing.T, e *docEnv) {
	kinds := []string{"grant/alice", "grant/alice2", "grant", "grant-owner", docKind}
	for _, k := range kinds {
		e.create(k, "seed", []byte("s"))
	}
	for _, written := range kinds {
		writes := []struct {
			name string
			op   func() error
		}{
			{"CreateDocument", func() error { return e.d.CreateDocument(e.ctx, written, "id", []byte("a")) }},
			{"UpdateDocument", func() error { return e.d.UpdateDocument(e.ctx, written, "id", []byte("b")) }},
			{"DeleteDocument", func() error { return e.d.DeleteDocument(e.ctx, written, "id") }},
		}
		for _, w := range writes {
			before := e.versions(e.d, kinds)
			if err := w.op(); err != nil {
				t.Fatalf("%s of kind %q: %v", w.name, written, err)
			}
			after := e.versions(e.d, kinds)
			for _, k := range kinds {
				switch {
				case k == written && after[k] == before[k]:
					t.Fatalf("DocumentsVersion(%q) stayed %d after a %s of it", k, before[k], w.name)
				case k != written && after[k] != before[k]:
					t.Fatalf("DocumentsVersion(%q) changed from %d to %d after a %s of kind %q",
						k, before[k], after[k], w.name, written)
				}
			}
		}
	}
}

// testDocVersionNeverWritten reads the version of a kind that no write
// touches, before and after writes of other kinds, including one that is
// a prefix of it: it is 0 throughout.
func testDocVersionNeverWritten(t *testing.T, e *docEnv) {
	const never = "grant/nobody"
	check := func(when string) {
		t.Helper()
		for range 2 {
			if v := e.version(e.d, never); v != 0 {
				t.Fatalf("DocumentsVersion(%q) %s = %d, want 0", never, when, v)
			}
		}
	}
	check("of a fresh store")
	e.create(docKind, "app", []byte("a"))
	e.create("grant", "nobody", []byte("a"))
	e.create("grant/nobod", "x", []byte("a"))
	if err := e.d.UpdateDocument(e.ctx, docKind, "app", []byte("b")); err != nil {
		t.Fatal(err)
	}
	if err := e.d.DeleteDocument(e.ctx, docKind, "app"); err != nil {
		t.Fatal(err)
	}
	if err := e.d.UpdateDocument(e.ctx, never, "app", []byte("b")); !errors.Is(err, oauth2.ErrNotFound) {
		t.Fatalf("UpdateDocument of a kind never written = %v, want ErrNotFound", err)
	}
	if err := e.d.DeleteDocument(e.ctx, never, "app"); !errors.Is(err, oauth2.ErrNotFound) {
		t.Fatalf("DeleteDocument of a kind never written = %v, want ErrNotFound", err)
	}
	check("after writes of other kinds and failed writes of it")
}

// testDocConcurrentKinds writes documents of several kinds at once, none
// written before, each by several goroutines: every write lands and
// changes the version of its kind only, with no deadlock between the
// first writes of new kinds.
func testDocConcurrentKinds(t *testing.T, e *docEnv) {
	const kinds, perKind = 6, 5
	kind := func(k int) string { return fmt.Sprintf("kind-%d", k) }
	var wg sync.WaitGroup
	start := make(chan struct{})
	for k := range kinds {
		for i := range perKind {
			wg.Go(func() {
				<-start
				id := fmt.Sprintf("id-%d", i)
				if err := e.d.CreateDocument(e.ctx, kind(k), id, []byte(id)); err != nil {
					t.Errorf("CreateDocument(%q, %q): %v", kind(k), id, err)
					return
				}
				if err := e.d.UpdateDocument(e.ctx, kind(k), id, []byte("updated "+id)); err != nil {
					t.Errorf("UpdateDocument(%q, %q): %v", kind(k), id, err)
				}
			})
		}
	}
	close(start)
	wg.Wait()
	if t.Failed() {
		return
	}
	for k := range kinds {
		for i := range perKind {
			id := fmt.Sprintf("id-%d", i)
			e.body(e.d, kind(k), id, []byte("updated "+id))
		}
		if v := e.version(e.d, kind(k)); v == 0 {
			t.Fatalf("DocumentsVersion(%q) is 0 after %d writes", kind(k), 2*perKind)
		}
	}
	if v := e.version(e.d, docKind); v != 0 {
		t.Fatalf("DocumentsVersion(%q) = %d after writes of other kinds only, want 0", docKind, v)
	}
}

func testDocConcurrentCreate(t *testing.T, e *docEnv) {
	concurrentCreate(t, e, []oauth2.DocumentStore{e.d})
}

func testDocCreateAcrossHandles(t *testing.T, e *docEnv) {
	other := e.h.Reopen(t, e.d)
	concurrentCreate(t, e, []oauth2.DocumentStore{e.d, other})
}

// concurrentCreate has 50 goroutines, spread over handles, create one ID
// with different bodies: exactly one wins, and its body is stored.
func concurrentCreate(t *testing.T, e *docEnv, handles []oauth2.DocumentStore) {
	const n = 50
	errs := make([]error, n)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		wg.Go(func() {
			<-start
			errs[i] = handles[i%len(handles)].CreateDocument(e.ctx, docKind, "contested", fmt.Appendf(nil, "body-%d", i))
		})
	}
	close(start)
	wg.Wait()
	winner, exists := -1, 0
	for i, err := range errs {
		switch {
		case err == nil:
			if winner >= 0 {
				t.Fatalf("creators %d and %d both succeeded", winner, i)
			}
			winner = i
		case errors.Is(err, oauth2.ErrExists):
			exists++
		default:
			t.Fatalf("creator %d: %v, want nil or ErrExists", i, err)
		}
	}
	if winner < 0 || exists != n-1 {
		t.Fatalf("%d winners and %d ErrExists, want 1 and %d", n-exists, exists, n-1)
	}
	for _, h := range handles {
		e.body(h, docKind, "contested", fmt.Appendf(nil, "body-%d", winner))
	}
}

func testDocConcurrentUpdate(t *testing.T, e *docEnv) {
	const n = 20
	for i := range n {
		e.create(docKind, fmt.Sprintf("app-%02d", i), []byte("before"))
	}
	v := e.version(e.d, docKind)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			id := fmt.Sprintf("app-%02d", i)
			if err := e.d.UpdateDocument(e.ctx, docKind, id, []byte("after "+id)); err != nil {
				t.Errorf("UpdateDocument(%q): %v", id, err)
			}
		})
	}
	wg.Wait()
	if t.Failed() {
		return
	}
	for i := range n {
		id := fmt.Sprintf("app-%02d", i)
		e.body(e.d, docKind, id, []byte("after "+id))
	}
	if got := e.version(e.d, docKind); got == v {
		t.Fatalf("DocumentsVersion stayed %d after %d updates", v, n)
	}
}

// testDocSecondHandle writes through one handle and reads through the
// other, both ways: the documents and the version of the written kind are
// shared, and the version of the other kind stays.
func testDocSecondHandle(t *testing.T, e *docEnv) {
	other := e.h.Reopen(t, e.d)
	kinds := []string{docKind, "user"}
	// changed waits until reader sees the version of kind change from
	// v[kind], and checks that the other kind's stayed.
	changed := func(reader oauth2.DocumentStore, v map[string]int64, kind, what string) {
		t.Helper()
		// A store may cache the version briefly; it must see the change
		// within the time oauth2d's poll allows.
		deadline := time.Now().Add(2 * time.Second)
		for {
			got := e.versions(reader, kinds)
			if got[kind] != v[kind] {
				for _, k := range kinds {
					if k != kind && got[k] != v[k] {
						t.Fatalf("the other handle's DocumentsVersion(%q) changed from %d to %d after %s of kind %q",
							k, v[k], got[k], what, kind)
					}
				}
				maps.Copy(v, got)
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("the other handle's DocumentsVersion(%q) stayed %d after %s", kind, v[kind], what)
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	e.create("user", "seed", []byte("s"))
	v := e.versions(other, kinds)
	e.create(docKind, "app", []byte("one"))
	changed(other, v, docKind, "CreateDocument")
	e.body(other, docKind, "app", []byte("one"))
	if err := e.d.UpdateDocument(e.ctx, docKind, "app", []byte("two")); err != nil {
		t.Fatal(err)
	}
	changed(other, v, docKind, "UpdateDocument")
	e.body(other, docKind, "app", []byte("two"))
	if err := other.CreateDocument(e.ctx, docKind, "app", []byte("three")); !errors.Is(err, oauth2.ErrExists) {
		t.Fatalf("CreateDocument through the second handle of an ID created through the first = %v, want ErrExists", err)
	}
	page, err := other.ListDocuments(e.ctx, docKind, "", 10)
	if err != nil || len(page) != 1 || page[0].ID != "app" || string(page[0].Body) != "two" {
		t.Fatalf("ListDocuments through the second handle = %v, %v; want [app: two]", page, err)
	}
	if err := e.d.DeleteDocument(e.ctx, docKind, "app"); err != nil {
		t.Fatal(err)
	}
	changed(other, v, docKind, "DeleteDocument")
	e.absent(other, docKind, "app", "deleted through the first handle")
	// And the other way round.
	v = e.versions(e.d, kinds)
	if err := other.CreateDocument(e.ctx, "user", "alice", []byte("a")); err != nil {
		t.Fatal(err)
	}
	changed(e.d, v, "user", "CreateDocument through the second handle")
	e.body(e.d, "user", "alice", []byte("a"))
	if err := other.UpdateDocument(e.ctx, docKind, "gone", []byte("x")); !errors.Is(err, oauth2.ErrNotFound) {
		t.Fatalf("UpdateDocument through the second handle of a deleted ID = %v, want ErrNotFound", err)
	}
	if got := e.versions(e.d, kinds); !maps.Equal(got, v) {
		t.Fatalf("DocumentsVersion changed from %v to %v on a failed update through the second handle", v, got)
	}
}
