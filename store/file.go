package store

import (
	"bufio"
	"bytes"
	"container/heap"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"math"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"time"

	"github.com/oauth2d/oauth2"
	"github.com/oauth2d/oauth2/models"
)

// FileTokenStore is a durable oauth2.TokenStore for one process, kept in a
// single file with nothing but the standard library: go-oauth2's
// NewFileTokenStore, for programs that want their tokens to survive a
// restart without running a database.
//
// The records live in memory. Every change is appended to the file as one
// checksummed line and the file is synced (fsync) before the call returns,
// so that a token the server has answered with survives a crash; opening
// the file replays it. When the file has grown to twice its size after
// the last compaction (and by at least a megabyte), the live records are
// written to a new file that replaces it. A line torn by a crash at the end
// of the file is dropped when the file is opened; damage anywhere else
// makes the open fail rather than lose a revocation.
//
// Like the database stores (docs/architecture.md), it keeps only the
// SHA-256 of each code and token, never the value: a record read back
// holds the value it was looked up by and none of its other codes or
// tokens. The extension data of oauth2.ExtendableTokenInfo is kept.
//
// One process only: the file is locked (on Unix) so that a second process,
// or a second store in this one, cannot open it while it is open; changes
// are serialized by one lock, so that
// throughput is bounded by the disk's sync latency, typically a few hundred
// to a few thousand writes a second. Reads never wait for the disk. For
// more, or for several processes, use the SQLite, PostgreSQL, MySQL or
// Redis stores.
type FileTokenStore struct {
	now  func() time.Time
	path string

	// wmu orders changes and their journal lines; it is held across the
	// write and sync, so readers do not take it.
	wmu    sync.Mutex
	f      *os.File
	size   int64 // bytes of whole lines in the file
	base   int64 // size after the last compaction
	broken error // set when the file may hold a write that failed

	// mu guards the state; writers take it only to apply a change that is
	// already on disk.
	mu      sync.RWMutex
	entries map[fkey]*fentry
	grants  map[string][]fkey
	expiry  expiryHeap
}

var _ oauth2.TokenStore = (*FileTokenStore)(nil)

// FileOption configures NewFileTokenStore.
type FileOption func(*fileConfig)

type fileConfig struct {
	now func() time.Time
}

// WithFileClock makes the file store read the time from now instead of
// time.Now.
func WithFileClock(now func() time.Time) FileOption {
	return func(c *fileConfig) { c.now = now }
}

// NewFileTokenStore opens the token store kept in filename, creating it
// (mode 0600) when it does not exist, as go-oauth2's function of this name
// did. Its concrete type is *FileTokenStore; Close releases the file.
func NewFileTokenStore(filename string, opts ...FileOption) (oauth2.TokenStore, error) {
	s, err := OpenFileTokenStore(filename, opts...)
	if err != nil {
		return nil, err
	}
	return s, nil
}

// OpenFileTokenStore is NewFileTokenStore returning the concrete type.
func OpenFileTokenStore(filename string, opts ...FileOption) (*FileTokenStore, error) {
	c := fileConfig{now: time.Now}
	for _, o := range opts {
		o(&c)
	}
	if c.now == nil {
		return nil, errors.New("store: WithFileClock(nil)")
	}
	if filename == "" {
		return nil, errors.New("store: file: no file name")
	}
	f, err := os.OpenFile(filename, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("store: file: %w", err)
	}
	if err := lockFile(f); err != nil {
		f.Close()
		return nil, fmt.Errorf("store: file %s: %w", filename, err)
	}
	s := &FileTokenStore{
		now:     c.now,
		path:    filename,
		f:       f,
		entries: make(map[fkey]*fentry),
		grants:  make(map[string][]fkey),
	}
	if err := s.replay(); err != nil {
		f.Close()
		return nil, fmt.Errorf("store: file %s: %w", filename, err)
	}
	if s.size > compactMin {
		s.wmu.Lock()
		err := s.compact()
		s.wmu.Unlock()
		if err != nil {
			s.Close()
			return nil, fmt.Errorf("store: file %s: %w", filename, err)
		}
	}
	return s, nil
}

// Close closes the file and releases its lock. The store must not be used
// afterwards.
func (s *FileTokenStore) Close() error {
	s.wmu.Lock()
	defer s.wmu.Unlock()
	if s.f == nil {
		return nil
	}
	err := s.f.Close()
	s.f = nil
	if s.broken == nil {
		s.broken = errClosed
	}
	return err
}

// compactMin is the journal growth below which the file is never
// compacted (a variable for the tests).
var compactMin int64 = 1 << 20

var (
	errClosed       = errors.New("store: file: closed")
	errFileConflict = errors.New("store: file: a live code or token has the same value")
	errFileNotFound = fmt.Errorf("store: file: %w", oauth2.ErrNotFound)
)

// Part kinds, the index of a part in frec.parts.
const (
	fCode = iota
	fAccess
	fRefresh
)

// fkey is the SHA-256 of a code or token value.
type fkey [32]byte

func fkeyOf(v string) fkey { return sha256.Sum256([]byte(v)) }

// frec is one record: the non-secret fields and the parts it still has.
type frec struct {
	clientID, userID, redirectURI, scope, grantID string
	challenge                                     string
	method                                        oauth2.CodeChallengeMethod
	ext                                           url.Values
	parts                                         [3]fpart
}

type fpart struct {
	key     fkey
	set     bool  // the record has the part (its times are kept)
	gone    bool  // removed: the key no longer leads to the record
	created int64 // Unix nanoseconds
	ttl     int64 // nanoseconds; <= 0 never expires
}

// end is when the part expires; 0 for never.
func (p *fpart) end() int64 {
	if p.ttl <= 0 {
		return 0
	}
	return p.created + p.ttl
}

func (p *fpart) live(now int64) bool {
	return p.set && !p.gone && (p.ttl <= 0 || now < p.created+p.ttl)
}

// fentry is what a key leads to: a live part of a record, or a consumed code
// or rotated-out refresh token remembered with its grant until until (0:
// for ever).
type fentry struct {
	kind  int
	rec   *frec // nil for a used entry
	grant string
	until int64
}

func (e *fentry) live(now int64) bool {
	if e.rec == nil {
		return e.until == 0 || now < e.until
	}
	return e.rec.parts[e.kind].live(now)
}

// The journal. Each line is the JSON of one change, a tab, and the
// CRC-32C of the JSON in hex. A change is applied in the order revoke,
// del, used, put, so that it needs no reads of the state when replayed.
type jchange struct {
	Revoke string  `json:"revoke,omitempty"`
	Del    []jkey  `json:"del,omitempty"`
	Used   []jused `json:"used,omitempty"`
	Put    *jrec   `json:"put,omitempty"`
}

// jkey is a key in base64url.
type jkey string

func (k fkey) j() jkey { return jkey(base64.RawURLEncoding.EncodeToString(k[:])) }

func (k jkey) f() (fkey, error) {
	var f fkey
	n, err := base64.RawURLEncoding.Decode(f[:], []byte(k))
	if err != nil || n != len(f) {
		return f, errors.New("bad key")
	}
	return f, nil
}

type jused struct {
	Key   jkey   `json:"k"`
	Kind  int    `json:"kind"`
	Grant string `json:"grant,omitempty"`
	Until int64  `json:"until,omitempty"`
}

type jrec struct {
	ClientID    string                     `json:"client,omitempty"`
	UserID      string                     `json:"user,omitempty"`
	RedirectURI string                     `json:"redirect,omitempty"`
	Scope       string                     `json:"scope,omitempty"`
	GrantID     string                     `json:"grant,omitempty"`
	Challenge   string                     `json:"challenge,omitempty"`
	Method      oauth2.CodeChallengeMethod `json:"method,omitempty"`
	Extension   url.Values                 `json:"ext,omitempty"`
	Parts       [3]*jpart                  `json:"parts"`
}

type jpart struct {
	Key     jkey  `json:"k"`
	Created int64 `json:"c"`
	TTL     int64 `json:"ttl,omitempty"`
	Gone    bool  `json:"gone,omitempty"`
}

var crcTable = crc32.MakeTable(crc32.Castagnoli)

// maxLine bounds a journal line: a record with three parts and the largest
// extension data fits many times over.
const maxLine = 1 << 20

// replay applies every line of the file. A last line that is incomplete or
// fails its checksum was torn by a crash and is cut off; any other bad line
// is an error.
func (s *FileTokenStore) replay() error {
	r := bufio.NewReaderSize(s.f, 64<<10)
	var off int64
	for n := 1; ; n++ {
		line, err := r.ReadBytes('\n')
		if len(line) == 0 && err == io.EOF {
			break
		}
		if err != nil && err != io.EOF {
			return err
		}
		if len(line) > maxLine {
			return fmt.Errorf("line %d is longer than %d bytes", n, maxLine)
		}
		c, perr := parseLine(line)
		if perr != nil {
			if _, peek := r.Peek(1); err == io.EOF || peek == io.EOF {
				// The last line: a write torn by a crash. Cut it off.
				if err := s.f.Truncate(off); err != nil {
					return err
				}
				break
			}
			return fmt.Errorf("line %d is damaged (%v); the file is left as it is", n, perr)
		}
		if err := s.apply(c); err != nil {
			return fmt.Errorf("line %d: %w", n, err)
		}
		off += int64(len(line))
	}
	s.size, s.base = off, 0
	_, err := s.f.Seek(off, io.SeekStart)
	return err
}

// parseLine checks and decodes one journal line, newline included.
func parseLine(line []byte) (*jchange, error) {
	if len(line) == 0 || line[len(line)-1] != '\n' {
		return nil, errors.New("incomplete")
	}
	body, sum, ok := bytes.Cut(line[:len(line)-1], []byte{'\t'})
	if !ok {
		return nil, errors.New("no checksum")
	}
	want, err := strconv.ParseUint(string(sum), 16, 32)
	if err != nil || crc32.Checksum(body, crcTable) != uint32(want) {
		return nil, errors.New("checksum mismatch")
	}
	var c jchange
	if err := json.Unmarshal(body, &c); err != nil {
		return nil, err
	}
	return &c, nil
}

// apply changes the state by c. The caller holds mu, or is the replay.
func (s *FileTokenStore) apply(c *jchange) error {
	if c.Revoke != "" {
		s.revoke(c.Revoke)
	}
	for _, jk := range c.Del {
		k, err := jk.f()
		if err != nil {
			return err
		}
		s.drop(k)
	}
	for _, u := range c.Used {
		k, err := u.Key.f()
		if err != nil || u.Kind < fCode || u.Kind > fRefresh {
			return errors.New("bad used entry")
		}
		s.drop(k)
		s.entries[k] = &fentry{kind: u.Kind, grant: u.Grant, until: u.Until}
		if u.Until != 0 {
			heap.Push(&s.expiry, expiryItem{at: u.Until, key: k})
		}
	}
	if c.Put != nil {
		rec, err := c.Put.rec()
		if err != nil {
			return err
		}
		s.put(rec)
	}
	return nil
}

func (j *jrec) rec() (*frec, error) {
	r := &frec{
		clientID: j.ClientID, userID: j.UserID, redirectURI: j.RedirectURI, scope: j.Scope,
		grantID: j.GrantID, challenge: j.Challenge, method: j.Method, ext: j.Extension,
	}
	for i, p := range j.Parts {
		if p == nil {
			continue
		}
		k, err := p.Key.f()
		if err != nil {
			return nil, err
		}
		r.parts[i] = fpart{key: k, set: true, gone: p.Gone, created: p.Created, ttl: p.TTL}
	}
	return r, nil
}

func (r *frec) j() *jrec {
	j := &jrec{
		ClientID: r.clientID, UserID: r.userID, RedirectURI: r.redirectURI, Scope: r.scope,
		GrantID: r.grantID, Challenge: r.challenge, Method: r.method, Extension: r.ext,
	}
	for i := range r.parts {
		if p := &r.parts[i]; p.set {
			j.Parts[i] = &jpart{Key: p.key.j(), Created: p.created, TTL: p.ttl, Gone: p.gone}
		}
	}
	return j
}

// put stores the parts of rec, replacing whatever their keys held.
func (s *FileTokenStore) put(rec *frec) {
	for i := range rec.parts {
		p := &rec.parts[i]
		if !p.set || p.gone {
			continue
		}
		s.drop(p.key)
		s.entries[p.key] = &fentry{kind: i, rec: rec}
		if rec.grantID != "" {
			s.grants[rec.grantID] = append(s.grants[rec.grantID], p.key)
		}
		if end := p.end(); end != 0 {
			heap.Push(&s.expiry, expiryItem{at: end, key: p.key})
		}
	}
}

// drop removes whatever k holds: a live part (which its record loses) or
// a used entry.
func (s *FileTokenStore) drop(k fkey) {
	e, ok := s.entries[k]
	if !ok {
		return
	}
	delete(s.entries, k)
	if e.rec == nil {
		return
	}
	e.rec.parts[e.kind].gone = true
	if g := e.rec.grantID; g != "" {
		keys := s.grants[g]
		for i := range keys {
			if keys[i] == k {
				keys[i] = keys[len(keys)-1]
				keys = keys[:len(keys)-1]
				break
			}
		}
		if len(keys) == 0 {
			delete(s.grants, g)
		} else {
			s.grants[g] = keys
		}
	}
}

// revoke drops every live part of grant; used entries stay.
func (s *FileTokenStore) revoke(grant string) {
	keys := append([]fkey(nil), s.grants[grant]...)
	for _, k := range keys {
		if e, ok := s.entries[k]; ok && e.rec != nil {
			s.drop(k)
		}
	}
	delete(s.grants, grant)
}

// sweepExpired drops up to max entries whose time is up, in expiry order:
// a few per write, so that no request pays for a scan.
func (s *FileTokenStore) sweepExpired(now int64, max int) {
	for ; max > 0 && len(s.expiry) > 0 && s.expiry[0].at <= now; max-- {
		it := heap.Pop(&s.expiry).(expiryItem)
		if e, ok := s.entries[it.key]; ok && !e.live(now) {
			s.drop(it.key)
		}
	}
}

// expiryHeap orders keys by when they stop being live. An item whose key
// has since been replaced is dropped when it comes up, if the key is not
// live then.
type expiryHeap []expiryItem

type expiryItem struct {
	at  int64
	key fkey
}

func (h expiryHeap) Len() int           { return len(h) }
func (h expiryHeap) Less(i, j int) bool { return h[i].at < h[j].at }
func (h expiryHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *expiryHeap) Push(x any)        { *h = append(*h, x.(expiryItem)) }
func (h *expiryHeap) Pop() any {
	old := *h
	it := old[len(old)-1]
	*h = old[:len(old)-1]
	return it
}

// commit writes c to the file, syncs it, and applies it to the state. On a
// failed write the file is cut back to its last whole line; if that fails
// too, or the sync fails (after which the disk's state is unknown), the
// store refuses every later change until it is opened again. The caller
// holds wmu.
func (s *FileTokenStore) commit(c *jchange) error {
	if s.broken != nil {
		return fmt.Errorf("store: file: %w: %w", oauth2.ErrUnavailable, s.broken)
	}
	body, err := json.Marshal(c)
	if err != nil {
		return fmt.Errorf("store: file: %w", err)
	}
	line := make([]byte, 0, len(body)+10)
	line = append(line, body...)
	line = append(line, '\t')
	line = strconv.AppendUint(line, uint64(crc32.Checksum(body, crcTable)), 16)
	line = append(line, '\n')
	if _, err := s.f.Write(line); err != nil {
		if terr := s.f.Truncate(s.size); terr != nil {
			s.broken = err
		} else if _, serr := s.f.Seek(s.size, io.SeekStart); serr != nil {
			s.broken = err
		}
		return fmt.Errorf("store: file: %w: %w", oauth2.ErrUnavailable, err)
	}
	if err := s.f.Sync(); err != nil {
		s.broken = err
		return fmt.Errorf("store: file: %w: %w", oauth2.ErrUnavailable, err)
	}
	s.size += int64(len(line))
	s.mu.Lock()
	err = s.apply(c)
	s.sweepExpired(fileNano(s.now()), 16)
	s.mu.Unlock()
	if err != nil {
		return err
	}
	if s.size > 2*s.base+compactMin {
		// The change is durable; a failed compaction leaves the journal
		// as it was and is tried again after more growth.
		_ = s.compact()
	}
	return nil
}

// compact writes the live state to a new file and puts it in place of the
// journal (write, sync, rename, sync the directory). The caller holds wmu.
func (s *FileTokenStore) compact() error {
	tmp := s.path + ".tmp"
	f, err := os.OpenFile(tmp, os.O_RDWR|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	// The new file is locked before it takes the journal's name, so that
	// no other opener ever finds the name unlocked.
	if err := lockFile(f); err != nil {
		f.Close()
		return err
	}
	// The state cannot change while wmu is held, so the records are
	// collected under the read lock and written without any lock: reads go
	// on during a compaction.
	s.mu.Lock()
	now := fileNano(s.now())
	s.sweepExpired(now, len(s.expiry))
	s.mu.Unlock()
	var changes []*jchange
	s.mu.RLock()
	seen := make(map[*frec]bool)
	for k, e := range s.entries {
		switch {
		case !e.live(now):
		case e.rec == nil:
			changes = append(changes, &jchange{Used: []jused{{Key: k.j(), Kind: e.kind, Grant: e.grant, Until: e.until}}})
		case !seen[e.rec]:
			seen[e.rec] = true
			changes = append(changes, &jchange{Put: e.rec.j()})
		}
	}
	s.mu.RUnlock()
	w := bufio.NewWriterSize(f, 64<<10)
	var size int64
	for _, c := range changes {
		body, merr := json.Marshal(c)
		if merr != nil {
			err = merr
			break
		}
		n, werr := fmt.Fprintf(w, "%s\t%x\n", body, crc32.Checksum(body, crcTable))
		size += int64(n)
		if werr != nil {
			err = werr
			break
		}
	}
	if err == nil {
		err = w.Flush()
	}
	if err == nil {
		err = f.Sync()
	}
	if err == nil {
		err = os.Rename(tmp, s.path)
	}
	if err != nil {
		f.Close()
		os.Remove(tmp)
		return err
	}
	if d, derr := os.Open(filepath.Dir(s.path)); derr == nil {
		d.Sync()
		d.Close()
	}
	s.f.Close()
	s.f, s.size, s.base = f, size, size
	return nil
}

// Create stores every non-empty part of info, all or none: it fails,
// storing nothing, if two parts have the same value or a part has the
// value of a live code or token, or of a remembered used one.
func (s *FileTokenStore) Create(_ context.Context, info oauth2.TokenInfo) error {
	rec := recordOf(info)
	if !rec.parts[fCode].set && !rec.parts[fAccess].set && !rec.parts[fRefresh].set {
		return nil
	}
	s.wmu.Lock()
	defer s.wmu.Unlock()
	if err := s.conflicts(rec); err != nil {
		return err
	}
	return s.commit(&jchange{Put: rec.j()})
}

// conflicts reports whether rec's parts repeat a value or meet a live
// entry. The caller holds wmu, so the state cannot change meanwhile.
func (s *FileTokenStore) conflicts(rec *frec, except ...fkey) error {
	now := fileNano(s.now())
	s.mu.RLock()
	defer s.mu.RUnlock()
	for i := range rec.parts {
		p := &rec.parts[i]
		if !p.set {
			continue
		}
		for j := range i {
			if rec.parts[j].set && rec.parts[j].key == p.key {
				return errFileConflict
			}
		}
		if e, ok := s.entries[p.key]; ok && e.live(now) {
			spared := false
			for _, k := range except {
				spared = spared || k == p.key
			}
			if !spared {
				return errFileConflict
			}
		}
	}
	return nil
}

// recordOf copies the fields and the parts' keys of info.
func recordOf(info oauth2.TokenInfo) *frec {
	r := &frec{
		clientID: info.GetClientID(), userID: info.GetUserID(), redirectURI: info.GetRedirectURI(),
		scope: info.GetScope(), grantID: info.GetGrantID(),
		challenge: info.GetCodeChallenge(), method: info.GetCodeChallengeMethod(),
	}
	if e, ok := info.(oauth2.ExtendableTokenInfo); ok && len(e.GetExtension()) > 0 {
		r.ext = cloneValues(e.GetExtension())
	}
	set := func(kind int, v string, created time.Time, ttl time.Duration) {
		if v != "" {
			r.parts[kind] = fpart{key: fkeyOf(v), set: true, created: fileNano(created), ttl: int64(ttl)}
		}
	}
	set(fCode, info.GetCode(), info.GetCodeCreateAt(), info.GetCodeExpiresIn())
	set(fAccess, info.GetAccess(), info.GetAccessCreateAt(), info.GetAccessExpiresIn())
	set(fRefresh, info.GetRefresh(), info.GetRefreshCreateAt(), info.GetRefreshExpiresIn())
	return r
}

func cloneValues(v url.Values) url.Values {
	c := make(url.Values, len(v))
	for k, vs := range v {
		c[k] = append([]string(nil), vs...)
	}
	return c
}

// get returns a copy of the record that value v leads to as kind, holding
// v and the record's non-secret fields; a *ReusedError for a remembered
// used code or refresh token; errFileNotFound otherwise.
func (s *FileTokenStore) get(v string, kind int) (oauth2.TokenInfo, error) {
	if v == "" {
		return nil, errFileNotFound
	}
	k := fkeyOf(v)
	now := fileNano(s.now())
	s.mu.RLock()
	defer s.mu.RUnlock()
	e, ok := s.entries[k]
	if !ok || e.kind != kind || !e.live(now) {
		return nil, errFileNotFound
	}
	if e.rec == nil {
		return nil, &oauth2.ReusedError{GrantID: e.grant}
	}
	r := e.rec
	t := &models.Token{
		ClientID: r.clientID, UserID: r.userID, RedirectURI: r.redirectURI, Scope: r.scope,
		GrantID: r.grantID, CodeChallenge: r.challenge, CodeChallengeMethod: r.method,
	}
	if r.ext != nil {
		t.Extension = cloneValues(r.ext)
	}
	for i := range r.parts {
		p := &r.parts[i]
		if !p.set {
			continue
		}
		created, ttl := fileTime(p.created), time.Duration(p.ttl)
		switch i {
		case fCode:
			t.CodeCreateAt, t.CodeExpiresIn = created, ttl
		case fAccess:
			t.AccessCreateAt, t.AccessExpiresIn = created, ttl
		case fRefresh:
			t.RefreshCreateAt, t.RefreshExpiresIn = created, ttl
		}
	}
	switch kind {
	case fCode:
		t.Code = v
	case fAccess:
		t.Access = v
	case fRefresh:
		t.Refresh = v
	}
	return t, nil
}

// GetByCode returns the live record of the code, a *oauth2.ReusedError for
// a code already exchanged (while remembered), or an error wrapping
// oauth2.ErrNotFound.
func (s *FileTokenStore) GetByCode(_ context.Context, code string) (oauth2.TokenInfo, error) {
	return s.get(code, fCode)
}

// GetByAccess returns the live record of the access token, or an error
// wrapping oauth2.ErrNotFound.
func (s *FileTokenStore) GetByAccess(_ context.Context, access string) (oauth2.TokenInfo, error) {
	return s.get(access, fAccess)
}

// GetByRefresh returns the live record of the refresh token, a
// *oauth2.ReusedError for a rotated-out one (while remembered), or an
// error wrapping oauth2.ErrNotFound.
func (s *FileTokenStore) GetByRefresh(_ context.Context, refresh string) (oauth2.TokenInfo, error) {
	return s.get(refresh, fRefresh)
}

// liveEntry returns the live entry of v as kind. The caller holds wmu.
func (s *FileTokenStore) liveEntry(v string, kind int) (fkey, *fentry, bool) {
	k := fkeyOf(v)
	now := fileNano(s.now())
	s.mu.RLock()
	defer s.mu.RUnlock()
	e, ok := s.entries[k]
	if !ok || e.kind != kind || !e.live(now) {
		return k, e, false
	}
	return k, e, true
}

// remove removes the live part v of kind and, with sibling, the live
// access token of the same record (RFC 7009 2.1). Removing what is not
// there is not an error; a remembered used value stays.
func (s *FileTokenStore) remove(v string, kind int, sibling bool) error {
	if v == "" {
		return nil
	}
	s.wmu.Lock()
	defer s.wmu.Unlock()
	k, e, ok := s.liveEntry(v, kind)
	if !ok || e.rec == nil {
		return nil
	}
	c := &jchange{Del: []jkey{k.j()}}
	s.mu.RLock()
	if a := &e.rec.parts[fAccess]; sibling && a.live(fileNano(s.now())) {
		c.Del = append(c.Del, a.key.j())
	}
	s.mu.RUnlock()
	return s.commit(c)
}

// RemoveByCode removes the code; a consumed code stays remembered.
func (s *FileTokenStore) RemoveByCode(_ context.Context, code string) error {
	return s.remove(code, fCode, false)
}

// RemoveByAccess removes the access token only.
func (s *FileTokenStore) RemoveByAccess(_ context.Context, access string) error {
	return s.remove(access, fAccess, false)
}

// RemoveByRefresh removes the refresh token and the access token stored
// with it (RFC 7009 2.1); a rotated-out refresh token stays remembered.
func (s *FileTokenStore) RemoveByRefresh(_ context.Context, refresh string) error {
	return s.remove(refresh, fRefresh, true)
}

// consume replaces the live entry of v (a code or a refresh token) with a
// used one remembered until the later of until and the end of issued's
// parts, and stores issued, in one line of the journal. An entry already
// used gives a *ReusedError, anything else not live ErrNotFound.
func (s *FileTokenStore) consume(v string, kind int, issued oauth2.TokenInfo) error {
	if v == "" {
		return errFileNotFound
	}
	rec := recordOf(issued)
	s.wmu.Lock()
	defer s.wmu.Unlock()
	k, e, ok := s.liveEntry(v, kind)
	if !ok {
		return errFileNotFound
	}
	if e.rec == nil {
		return &oauth2.ReusedError{GrantID: e.grant}
	}
	keep := kind == fRefresh && rec.parts[fRefresh].set && rec.parts[fRefresh].key == k
	var except []fkey
	if keep {
		except = append(except, k)
	}
	if err := s.conflicts(rec, except...); err != nil {
		return err
	}
	c := &jchange{Put: rec.j()}
	s.mu.RLock()
	old := e.rec
	grant := old.grantID
	if kind == fRefresh {
		// The old pair goes: its access token now, its refresh token
		// replaced below.
		if a := &old.parts[fAccess]; a.set {
			c.Del = append(c.Del, a.key.j())
		}
	}
	s.mu.RUnlock()
	if !keep {
		until := rememberUntil(rec, old, kind)
		c.Used = []jused{{Key: k.j(), Kind: kind, Grant: grant, Until: until}}
	}
	return s.commit(c)
}

// rememberUntil is how long a consumed value stays remembered: a code
// until the last part issued from it expires; a rotated-out refresh token
// until the later of its own and its successor's expiry. 0 is for ever.
func rememberUntil(issued, old *frec, kind int) int64 {
	var until int64
	later := func(end int64) bool {
		if end == 0 {
			return true
		}
		if end > until {
			until = end
		}
		return false
	}
	if kind == fCode {
		for i := range issued.parts {
			if p := &issued.parts[i]; p.set && later(p.end()) {
				return 0
			}
		}
		return until
	}
	if later(old.parts[fRefresh].end()) {
		return 0
	}
	if p := &issued.parts[fRefresh]; p.set && later(p.end()) {
		return 0
	}
	return until
}

// ExchangeCode atomically consumes the live code and stores issued (RFC
// 6749 4.1.2). The consumed code is remembered with its grant until the
// last part of issued expires.
func (s *FileTokenStore) ExchangeCode(_ context.Context, code string, issued oauth2.TokenInfo) error {
	return s.consume(code, fCode, issued)
}

// RotateRefresh atomically replaces the live record of refresh with issued
// (RFC 6749 6, RFC 9700 4.14.2). Unless issued keeps the same refresh
// value, the old one is remembered with its grant until the later of its
// own and issued's refresh expiry.
func (s *FileTokenStore) RotateRefresh(_ context.Context, refresh string, issued oauth2.TokenInfo) error {
	return s.consume(refresh, fRefresh, issued)
}

// RevokeGrant removes every live code and token of the grant; remembered
// used values stay remembered.
func (s *FileTokenStore) RevokeGrant(_ context.Context, grantID string) error {
	if grantID == "" {
		return nil
	}
	s.wmu.Lock()
	defer s.wmu.Unlock()
	s.mu.RLock()
	_, known := s.grants[grantID]
	s.mu.RUnlock()
	if !known {
		return nil
	}
	return s.commit(&jchange{Revoke: grantID})
}

// fileNano is t in Unix nanoseconds, clamped to what int64 holds; the zero
// time is math.MinInt64.
func fileNano(t time.Time) int64 {
	switch {
	case t.IsZero():
		return math.MinInt64
	case t.Year() < 1678:
		return math.MinInt64 + 1
	case t.Year() > 2261:
		return math.MaxInt64 - 1
	}
	return t.UnixNano()
}

// fileTime is the inverse of fileNano.
func fileTime(n int64) time.Time {
	if n == math.MinInt64 {
		return time.Time{}
	}
	return time.Unix(0, n)
}
