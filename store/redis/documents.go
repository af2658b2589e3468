package redis

import (
	"context"
	"errors"
	"fmt"

	goredis "github.com/redis/go-redis/v9"

	"github.com/oauth2d/oauth2"
)

// The oauth2.DocumentStore capability (docs/architecture.md section 4)
// keeps the documents of each kind in three keys: a hash
// <prefix>doc:body:<kind> of ID to body, a sorted set
// <prefix>doc:ids:<kind> of the IDs, all of score 0, which ZRANGEBYLEX
// reads in byte order (memcmp) from an exclusive "(after" bound, and the
// counter <prefix>doc:version:<kind>, incremented by every change of the
// kind (missing: version 0). Each write is one Lua script that checks,
// changes the hash and the set, and increments the kind's counter
// atomically, so that of concurrent creators of one ID, in any number of
// processes, exactly one succeeds; a write that changes nothing leaves the
// counter alone. Documents have no expiry.
// On Redis Cluster the keys of one script must share a slot: use a
// hash-tagged prefix (WithKeyPrefix).

var _ oauth2.DocumentStore = (*TokenStore)(nil)

func (s *TokenStore) docKeys(kind string) []string {
	return []string{s.prefix + "doc:body:" + kind, s.prefix + "doc:ids:" + kind, s.prefix + "doc:version:" + kind}
}

// The write scripts take KEYS[1] the hash of bodies, KEYS[2] the set of
// IDs, KEYS[3] the kind's counter; ARGV[1] the ID and, to create or update,
// ARGV[2] the body. They return 1 when they changed the document, 0 when
// it was there (create) or missing (update, delete).
var (
	createDocScript = goredis.NewScript(`
if redis.call('HSETNX', KEYS[1], ARGV[1], ARGV[2]) == 0 then
  return 0
end
redis.call('ZADD', KEYS[2], 0, ARGV[1])
redis.call('INCR', KEYS[3])
return 1
`)
	updateDocScript = goredis.NewScript(`
if redis.call('HEXISTS', KEYS[1], ARGV[1]) == 0 then
  return 0
end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
redis.call('INCR', KEYS[3])
return 1
`)
	deleteDocScript = goredis.NewScript(`
if redis.call('HDEL', KEYS[1], ARGV[1]) == 0 then
  return 0
end
redis.call('ZREM', KEYS[2], ARGV[1])
redis.call('INCR', KEYS[3])
return 1
`)
	// listDocScript reads a page of IDs and their bodies at one instant.
	//
	//	KEYS[1], KEYS[2] as above; ARGV[1] the lower bound of ZRANGEBYLEX
	//	("-" or "(" .. after), ARGV[2] the limit
	//	returns ID, body, ID, body, ...
	listDocScript = goredis.NewScript(`
local ids = redis.call('ZRANGEBYLEX', KEYS[2], ARGV[1], '+', 'LIMIT', 0, tonumber(ARGV[2]))
local out = {}
for i, id in ipairs(ids) do
  out[2 * i - 1] = id
  out[2 * i] = redis.call('HGET', KEYS[1], id) or ''
end
return out
`)
)

// maxDocPage bounds the IDs one ListDocuments reads; a larger limit
// returns this many, which the caller's cursor pages on from.
const maxDocPage = 1 << 16

// docWrite runs one of the write scripts and maps its 0 to missing.
func (s *TokenStore) docWrite(ctx context.Context, op string, script *goredis.Script, kind string, missing error, args ...any) error {
	ctx, cancel := s.bound(ctx)
	defer cancel()
	n, err := script.Run(ctx, s.pipe, s.docKeys(kind), args...).Int()
	if err != nil {
		return classify(op, err)
	}
	if n == 0 {
		return fmt.Errorf("redis store: %s %s: %w", op, kind, missing)
	}
	return nil
}

// CreateDocument stores body under (kind, id) unless a document is there
// (oauth2.ErrExists).
func (s *TokenStore) CreateDocument(ctx context.Context, kind, id string, body []byte) error {
	if err := oauth2.CheckDocument(kind, id, body); err != nil {
		return fmt.Errorf("redis store: create document: %w", err)
	}
	return s.docWrite(ctx, "create document", createDocScript, kind, oauth2.ErrExists, id, docBody(body))
}

// UpdateDocument replaces the body of an existing document
// (oauth2.ErrNotFound when there is none).
func (s *TokenStore) UpdateDocument(ctx context.Context, kind, id string, body []byte) error {
	if err := oauth2.CheckDocument(kind, id, body); err != nil {
		return fmt.Errorf("redis store: update document: %w", err)
	}
	return s.docWrite(ctx, "update document", updateDocScript, kind, oauth2.ErrNotFound, id, docBody(body))
}

// DeleteDocument removes a document (oauth2.ErrNotFound when there is
// none).
func (s *TokenStore) DeleteDocument(ctx context.Context, kind, id string) error {
	if err := oauth2.CheckDocument(kind, id, nil); err != nil {
		return fmt.Errorf("redis store: delete document: %w", err)
	}
	return s.docWrite(ctx, "delete document", deleteDocScript, kind, oauth2.ErrNotFound, id)
}

// GetDocument returns the body of a document (oauth2.ErrNotFound when
// there is none), with one HGET.
func (s *TokenStore) GetDocument(ctx context.Context, kind, id string) ([]byte, error) {
	const op = "get document"
	if err := oauth2.CheckDocument(kind, id, nil); err != nil {
		return nil, fmt.Errorf("redis store: %s: %w", op, err)
	}
	ctx, cancel := s.bound(ctx)
	defer cancel()
	cmd := goredis.NewStringCmd(ctx, "hget", s.docKeys(kind)[0], id)
	s.pipe.do(ctx, cmd)
	b, err := cmd.Bytes()
	if err != nil {
		return nil, classify(op, err)
	}
	return docBody(b), nil
}

// ListDocuments returns up to limit documents of kind whose IDs sort after
// after, in ascending byte order.
func (s *TokenStore) ListDocuments(ctx context.Context, kind, after string, limit int) ([]oauth2.Document, error) {
	const op = "list documents"
	if err := oauth2.CheckListLimit(limit); err != nil {
		return nil, fmt.Errorf("redis store: %w", err)
	}
	from := "-"
	if after != "" {
		from = "(" + after
	}
	ctx, cancel := s.bound(ctx)
	defer cancel()
	res, err := listDocScript.Run(ctx, s.pipe, s.docKeys(kind)[:2], from, min(limit, maxDocPage)).Slice()
	if err != nil && !errors.Is(err, goredis.Nil) {
		return nil, classify(op, err)
	}
	docs := make([]oauth2.Document, 0, len(res)/2)
	for i := 0; i+1 < len(res); i += 2 {
		id, ok1 := res[i].(string)
		body, ok2 := res[i+1].(string)
		if !ok1 || !ok2 {
			return nil, fmt.Errorf("redis store: %s: unexpected reply of type %T, %T", op, res[i], res[i+1])
		}
		docs = append(docs, oauth2.Document{ID: id, Body: []byte(body)})
	}
	return docs, nil
}

// DocumentsVersion returns the number of changes made so far to the
// documents of kind, by every process (0 for a kind never written): one
// GET.
func (s *TokenStore) DocumentsVersion(ctx context.Context, kind string) (int64, error) {
	ctx, cancel := s.bound(ctx)
	defer cancel()
	v, err := s.pipe.Get(ctx, s.docKeys(kind)[2]).Int64()
	switch {
	case errors.Is(err, goredis.Nil):
		return 0, nil
	case err != nil:
		return 0, classify("documents version", err)
	}
	return v, nil
}

// docBody returns body as it is sent and returned: never nil.
func docBody(body []byte) []byte {
	if body == nil {
		return []byte{}
	}
	return body
}
