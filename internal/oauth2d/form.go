package oauth2d

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"unicode/utf8"
)

// The endpoints where clients authenticate read two parameters ahead of
// the server: the client_id, for the throttle and the log line, and the
// grant_type, for the tokens-issued metric. They read them without
// consuming the body and without allocating on the common path (a small
// form body, Basic credentials of a registered client), so that the
// standalone server costs little more than the library's handler.

// tokenParams are the parameters of a request that the wrapper reads: the
// body, read ahead, and the query.
type tokenParams struct {
	body  []byte
	query string
}

// get returns the first value of key in the body, else in the query.
func (p tokenParams) get(key string) string {
	if v, ok := formRaw(p.body, key); ok {
		if s, ok := decodeValue(v); ok {
			return s
		}
	}
	v, _ := formValue(p.query, key)
	return v
}

// grantLabel returns the metric label of the request's grant_type.
func (p tokenParams) grantLabel() string {
	if v, ok := formRaw(p.body, "grant_type"); ok && !hasEscape(v) {
		return grantLabelBytes(v)
	}
	return grantLabel(p.get("grant_type"))
}

// formValue returns the first value of key in a form-encoded string,
// decoding only that value.
func formValue(form, key string) (string, bool) {
	v, ok := formRaw(form, key)
	if !ok {
		return "", false
	}
	return decodeValue(v)
}

// formRaw returns the first value of key in a form-encoded string or byte
// slice (application/x-www-form-urlencoded), still encoded. A key is
// decoded only when it holds an escape.
func formRaw[T ~string | ~[]byte](form T, key string) (T, bool) {
	for len(form) > 0 {
		end := indexByte(form, '&')
		pair := form[:end]
		if end < len(form) {
			end++
		}
		form = form[end:]
		eq := indexByte(pair, '=')
		k := pair[:eq]
		var v T
		if eq < len(pair) {
			v = pair[eq+1:]
		}
		if keyIs(k, key) {
			return v, true
		}
	}
	var zero T
	return zero, false
}

// indexByte returns the index of the first c in s, or len(s).
func indexByte[T ~string | ~[]byte](s T, c byte) int {
	for i := range len(s) {
		if s[i] == c {
			return i
		}
	}
	return len(s)
}

// keyIs reports whether the encoded key k is key.
func keyIs[T ~string | ~[]byte](k T, key string) bool {
	if len(k) == len(key) {
		same := true
		for i := range len(k) {
			if k[i] != key[i] {
				same = false
				break
			}
		}
		if same {
			return true
		}
	}
	if !hasEscape(k) {
		return false
	}
	dk, err := url.QueryUnescape(string(k))
	return err == nil && dk == key
}

// hasEscape reports whether a form-encoded value has a percent escape or a
// '+' (a space).
func hasEscape[T ~string | ~[]byte](s T) bool {
	for i := range len(s) {
		if s[i] == '%' || s[i] == '+' {
			return true
		}
	}
	return false
}

// decodeValue decodes a form-encoded value.
func decodeValue[T ~string | ~[]byte](v T) (string, bool) {
	if !hasEscape(v) {
		return string(v), true
	}
	dv, err := url.QueryUnescape(string(v))
	return dv, err == nil
}

// peekedBody is a request body read ahead: it replaces the request's body
// and reads out the same bytes. It is pooled, with the buffer and the
// scratch space of tokenClientID.
type peekedBody struct {
	buf     []byte
	rd      bytes.Reader
	orig    io.ReadCloser
	params  tokenParams
	scratch [256]byte
}

// Read reads the body as it came.
func (b *peekedBody) Read(p []byte) (int, error) { return b.rd.Read(p) }

// Close closes the original body.
func (b *peekedBody) Close() error { return b.orig.Close() }

var peekedBodies = sync.Pool{New: func() any { return new(peekedBody) }}

// maxPooledBody is the largest buffer kept for reuse.
const maxPooledBody = 64 << 10

// peekTokenForm reads the form body of a POST without consuming it: up to
// limit bytes are read, and the request's body then reads them out again,
// followed by whatever was left, so that the server reads the request as it
// came. Call release once the server is done with the request.
func peekTokenForm(r *http.Request, limit int64) *peekedBody {
	pb := peekedBodies.Get().(*peekedBody)
	pb.params = tokenParams{query: r.URL.RawQuery}
	if r.Method != http.MethodPost || r.Body == nil || r.Body == http.NoBody || !isFormContent(r.Header["Content-Type"]) {
		return pb
	}
	data, eof, err := readAhead(pb.buf[:0], r.Body, limit)
	pb.buf = data
	if eof && err == nil {
		pb.params.body = data
		pb.orig = r.Body
		pb.rd.Reset(data)
		r.Body = pb
		return pb
	}
	// Larger than the limit, or a read error: the server gets what was
	// read, then the rest (or the error again), and decides.
	orig := r.Body
	r.Body = struct {
		io.Reader
		io.Closer
	}{io.MultiReader(bytes.NewReader(slices.Clone(data)), orig), orig}
	return pb
}

// release returns pb to the pool.
func (pb *peekedBody) release() {
	pb.rd.Reset(nil)
	pb.orig = nil
	pb.params = tokenParams{}
	if cap(pb.buf) > maxPooledBody {
		pb.buf = nil
	}
	peekedBodies.Put(pb)
}

// isFormContent reports whether a Content-Type header is
// application/x-www-form-urlencoded, with any parameters.
func isFormContent(values []string) bool {
	if len(values) == 0 {
		return false
	}
	mt, _, _ := strings.Cut(values[0], ";")
	return strings.EqualFold(strings.TrimSpace(mt), "application/x-www-form-urlencoded")
}

// readAhead reads r into buf until EOF, or until buf holds more than limit
// bytes; eof reports that it read everything.
func readAhead(buf []byte, r io.Reader, limit int64) (data []byte, eof bool, err error) {
	for int64(len(buf)) <= limit {
		if len(buf) == cap(buf) {
			grow := min(int64(max(512, cap(buf))), limit+1-int64(len(buf)))
			buf = slices.Grow(buf, int(grow))
		}
		n, err := r.Read(buf[len(buf):min(int64(cap(buf)), limit+1)])
		buf = buf[:len(buf)+n]
		if err == io.EOF {
			return buf, true, nil
		}
		if err != nil {
			return buf, false, err
		}
	}
	return buf, false, nil
}

// tokenClientID returns the client_id a request claims, unverified, for
// throttling and logs: from Basic credentials (RFC 7617 2; the ID is form
// encoded, RFC 6749 2.3.1), the client_id parameter, or the subject of a
// client assertion (RFC 7523 3). The result may point into pb's scratch
// space or body: use it before releasing pb.
func tokenClientID(r *http.Request, pb *peekedBody) []byte {
	if id, ok := basicUser(r, pb.scratch[:]); ok {
		if !hasEscape(id) {
			return id
		}
		if dec, err := url.QueryUnescape(string(id)); err == nil {
			return []byte(dec)
		}
		return id
	}
	p := pb.params
	if v, ok := formRaw(p.body, "client_id"); ok && len(v) > 0 && !hasEscape(v) {
		return v
	}
	if id := p.get("client_id"); id != "" {
		return []byte(id)
	}
	if a := p.get("client_assertion"); a != "" {
		return []byte(assertionSubject(a))
	}
	return nil
}

// basicUser returns the user-id of the request's Basic credentials (RFC
// 7617 2), still form-encoded, decoded into scratch when it fits. ok is
// false without Basic credentials or when they do not decode.
func basicUser(r *http.Request, scratch []byte) (id []byte, ok bool) {
	vals := r.Header["Authorization"]
	if len(vals) == 0 {
		return nil, false
	}
	const prefix = "Basic "
	v := vals[0]
	if len(v) < len(prefix) || !strings.EqualFold(v[:len(prefix)], prefix) {
		return nil, false
	}
	enc := v[len(prefix):]
	half := len(scratch) / 2
	if len(enc) > half {
		user, _, ok := r.BasicAuth()
		return []byte(user), ok
	}
	src := scratch[:len(enc)]
	copy(src, enc)
	dst := scratch[half:]
	n, err := base64.StdEncoding.Decode(dst, src)
	if err != nil {
		return nil, false
	}
	user, _, found := bytes.Cut(dst[:n], []byte{':'})
	return user, found
}

// assertionSubject returns the sub of a client assertion's payload, else
// its iss (RFC 7523 3), without verifying anything.
func assertionSubject(assertion string) string {
	parts := strings.Split(assertion, ".")
	if len(parts) != 3 {
		return ""
	}
	payload, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil || !utf8.Valid(payload) {
		return ""
	}
	var claims struct {
		Iss string `json:"iss"`
		Sub string `json:"sub"`
	}
	if json.Unmarshal(payload, &claims) != nil {
		return ""
	}
	if claims.Sub != "" {
		return claims.Sub
	}
	return claims.Iss
}
