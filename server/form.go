package server

import (
	"bytes"
	stderrors "errors"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/oauth2d/oauth2/errors"
)

// Errors of request parsing. Their descriptions never repeat the input.
var (
	errRepeatedParam    = errors.WithDescription(errors.ErrInvalidRequest, "A request parameter is included more than once")
	errMalformedForm    = errors.WithDescription(errors.ErrInvalidRequest, "The request parameters are not valid UTF-8 form encoding")
	errTooManyParams    = errors.WithDescription(errors.ErrInvalidRequest, "The request has too many parameters")
	errBodyTooLarge     = errors.WithDescription(errors.ErrInvalidRequest, "The request body is too large")
	errBodyRead         = errors.WithDescription(errors.ErrInvalidRequest, "The request body could not be read")
	errContentType      = errors.WithDescription(errors.ErrInvalidRequest, "The request body must be application/x-www-form-urlencoded")
	errSecretInQuery    = errors.WithDescription(errors.ErrInvalidRequest, "Client credentials must be sent in the request body")
	errParamInQuery     = errors.WithDescription(errors.ErrInvalidRequest, "Request parameters must be sent in the request body, not in the query string")
	errMethodNotAllowed = errors.WithDescription(errors.ErrInvalidRequest, "The token endpoint accepts only POST requests")
)

// maxParams bounds the parameters of one request. RFC 6749 requests carry
// fewer than fifteen; the bound keeps the repeated-parameter check cheap.
const maxParams = 64

// Params gives read access to the parameters of a token request, decoded
// once by the server. Get returns "" for a parameter that is absent or
// empty, the two being the same thing (RFC 6749 3.1, 3.2).
type Params interface {
	Get(key string) string
}

type param struct {
	key, val []byte
	query    bool
}

// form holds the parameters of one token request: the body and query bytes,
// decoded in place, and the key/value slices into them. It is pooled, so
// values leave it only as fresh strings.
type form struct {
	buf    []byte
	params []param
	// bodyOnly is set for a POST: its parameters belong in the body (RFC
	// 6749 3.2), and queryRead records that Get returned one taken from
	// the query string instead, which the server then refuses.
	bodyOnly  bool
	queryRead bool
	// inQuery counts the parameters taken from the query string.
	inQuery int
}

var formPool = sync.Pool{New: func() any {
	return &form{buf: make([]byte, 0, 512), params: make([]param, 0, 16)}
}}

// maxPooledBuf keeps the pool from holding on to large bodies.
const maxPooledBuf = 8 << 10

func getForm() *form { return formPool.Get().(*form) }

func putForm(f *form) {
	if cap(f.buf) > maxPooledBuf {
		return
	}
	clear(f.params)
	f.params = f.params[:0]
	f.buf = f.buf[:0]
	f.bodyOnly, f.queryRead, f.inQuery = false, false, 0
	formPool.Put(f)
}

// Get returns the value of key as a new string, "" when absent. On a POST
// it records a value taken from the query string (see errParamInQuery).
func (f *form) Get(key string) string {
	for i := range f.params {
		if p := &f.params[i]; string(p.key) == key {
			if p.query && f.bodyOnly && len(p.val) > 0 {
				f.queryRead = true
			}
			return string(p.val)
		}
	}
	return ""
}

// checkBodyOnly returns errParamInQuery when Get has returned a parameter
// of a POST that was sent in the query string.
func (f *form) checkBodyOnly() error {
	if f.queryRead {
		return errParamInQuery
	}
	return nil
}

// CheckBodyParams returns an invalid_request error when a parameter read
// from p so far came from the query string of a POST request, where RFC
// 6749 3.2 has no parameter of a token request belong (query strings end
// up in logs). The server checks it after Grant.ReadRequest; a grant calls
// it itself before it acts on what it read, for example before it verifies
// a password it read. For Params the server did not make it returns nil.
func CheckBodyParams(p Params) error {
	if f, ok := p.(*form); ok {
		return f.checkBodyOnly()
	}
	return nil
}

// lookup returns the raw value of key and whether it came from the query.
func (f *form) lookup(key string) ([]byte, bool) {
	for i := range f.params {
		if string(f.params[i].key) == key {
			return f.params[i].val, f.params[i].query
		}
	}
	return nil, false
}

// has reports whether key is present with a non-empty value.
func (f *form) has(key string) bool {
	v, _ := f.lookup(key)
	return len(v) > 0
}

// is reports whether the value of key equals want, without allocating.
func (f *form) is(key, want string) bool {
	v, _ := f.lookup(key)
	return string(v) == want
}

// values copies the parameters into url.Values, for hooks that read
// r.Form. Only the slow path calls it.
func (f *form) values(queryOnly, bodyOnly bool) url.Values {
	v := make(url.Values, len(f.params))
	for _, p := range f.params {
		if (queryOnly && !p.query) || (bodyOnly && p.query) {
			continue
		}
		v[string(p.key)] = append(v[string(p.key)], string(p.val))
	}
	return v
}

// readTokenForm reads the parameters of a token request: the query, and for
// POST the form-encoded body, limited to limit bytes (RFC 6749 3.2, B).
// Any repeated parameter, in the body, the query or both, is refused (RFC
// 6749 3.2), as is a malformed escape or a value that is not UTF-8. The
// query is read, since the endpoint URI may carry one of its own (RFC 6749
// 3.2), but on a POST no parameter the server or a grant reads may come
// from it (Get and checkBodyOnly).
func (f *form) readTokenForm(w http.ResponseWriter, r *http.Request, limit int64) error {
	f.bodyOnly = r.Method == http.MethodPost
	if r.Method == http.MethodPost {
		if !isFormContentType(r.Header.Get("Content-Type")) {
			return errContentType
		}
		if r.PostForm != nil {
			// A middleware parsed the body already.
			if err := f.addValues(r.PostForm); err != nil {
				return err
			}
		} else if err := f.readBody(w, r, limit); err != nil {
			return err
		}
	}
	bodyLen := len(f.buf)
	f.buf = append(f.buf, r.URL.RawQuery...)
	if err := f.parse(f.buf[:bodyLen], false); err != nil {
		return err
	}
	return f.parse(f.buf[bodyLen:], true)
}

func (f *form) readBody(w http.ResponseWriter, r *http.Request, limit int64) error {
	if r.Body == nil || r.Body == http.NoBody {
		return nil
	}
	if r.ContentLength > limit {
		return errBodyTooLarge
	}
	body := http.MaxBytesReader(w, r.Body, limit)
	if r.ContentLength > 0 && int64(cap(f.buf)) < r.ContentLength+int64(len(r.URL.RawQuery)) {
		f.buf = make([]byte, 0, r.ContentLength+int64(len(r.URL.RawQuery)))
	}
	for {
		if len(f.buf) == cap(f.buf) {
			f.buf = append(f.buf, 0)[:len(f.buf)]
		}
		n, err := body.Read(f.buf[len(f.buf):cap(f.buf)])
		f.buf = f.buf[:len(f.buf)+n]
		if err == io.EOF {
			return nil
		}
		if err != nil {
			var tooLarge *http.MaxBytesError
			if stderrors.As(err, &tooLarge) {
				return errBodyTooLarge
			}
			return errBodyRead
		}
	}
}

// addValues takes parameters another handler has already parsed; a repeated
// parameter shows as several values.
func (f *form) addValues(vs url.Values) error {
	for k, list := range vs {
		for _, v := range list {
			kb, vb := []byte(k), []byte(v)
			if !utf8.Valid(kb) || !utf8.Valid(vb) {
				return errMalformedForm
			}
			if err := f.add(kb, vb, false); err != nil {
				return err
			}
		}
	}
	return nil
}

// parse decodes application/x-www-form-urlencoded pairs of src in place
// (URL-encoded form parsing, as url.ParseQuery, including its refusal of
// ';' separators).
func (f *form) parse(src []byte, query bool) error {
	for len(src) > 0 {
		var seg []byte
		if i := bytes.IndexByte(src, '&'); i >= 0 {
			seg, src = src[:i], src[i+1:]
		} else {
			seg, src = src, nil
		}
		if len(seg) == 0 {
			continue
		}
		if bytes.IndexByte(seg, ';') >= 0 {
			return errMalformedForm
		}
		k, v, _ := bytes.Cut(seg, []byte{'='})
		k, ok := unescapeInPlace(k)
		if !ok {
			return errMalformedForm
		}
		v, ok = unescapeInPlace(v)
		if !ok || !utf8.Valid(k) || !utf8.Valid(v) {
			return errMalformedForm
		}
		if err := f.add(k, v, query); err != nil {
			return err
		}
	}
	return nil
}

func (f *form) add(k, v []byte, query bool) error {
	if !multiValued(k) {
		for i := range f.params {
			if bytes.Equal(f.params[i].key, k) {
				return errRepeatedParam
			}
		}
	}
	if len(f.params) == maxParams {
		return errTooManyParams
	}
	f.params = append(f.params, param{key: k, val: v, query: query})
	if query {
		f.inQuery++
	}
	return nil
}

// unescapeInPlace form-decodes b ('+' is a space, %XX a byte) into its own
// storage and reports whether every escape was well formed.
func unescapeInPlace(b []byte) ([]byte, bool) {
	i := 0
	for i < len(b) && b[i] != '%' && b[i] != '+' {
		i++
	}
	if i == len(b) {
		return b, true
	}
	w := i
	for i < len(b) {
		switch c := b[i]; c {
		case '+':
			b[w] = ' '
			i++
		case '%':
			if i+2 >= len(b) {
				return nil, false
			}
			hi, ok1 := unhex(b[i+1])
			lo, ok2 := unhex(b[i+2])
			if !ok1 || !ok2 {
				return nil, false
			}
			b[w] = hi<<4 | lo
			i += 3
		default:
			b[w] = c
			i++
		}
		w++
	}
	return b[:w], true
}

func unhex(c byte) (byte, bool) {
	switch {
	case '0' <= c && c <= '9':
		return c - '0', true
	case 'a' <= c && c <= 'f':
		return c - 'a' + 10, true
	case 'A' <= c && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}

// isFormContentType reports whether ct is application/x-www-form-urlencoded,
// with or without parameters, compared case-insensitively (RFC 9110 8.3.1).
func isFormContentType(ct string) bool {
	const want = "application/x-www-form-urlencoded"
	if i := strings.IndexByte(ct, ';'); i >= 0 {
		ct = ct[:i]
	}
	ct = strings.TrimSpace(ct)
	return len(ct) == len(want) && strings.EqualFold(ct, want)
}
