package oauth2d

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	stderrors "errors"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/oauth2d/oauth2/errors"
	"github.com/oauth2d/oauth2/internal/web"
	"github.com/oauth2d/oauth2/server"
)

// requestInfo is filled by the handlers for the request log line.
type requestInfo struct {
	clientID string
	endpoint string
}

type infoKey struct{}

func infoOf(r *http.Request) *requestInfo {
	if i, ok := r.Context().Value(infoKey{}).(*requestInfo); ok {
		return i
	}
	return &requestInfo{}
}

// statusWriter records the status of a response written through it.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the connection.
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// middleware logs one line per request and measures its duration by
// endpoint. The line has the method, the path (never the query, which can
// hold a code or a state), the status, the duration and the client_id;
// never a token, code, secret or password.
func (a *App) middleware(mux http.Handler) http.Handler {
	type patterner interface {
		Handler(*http.Request) (http.Handler, string)
	}
	pm, _ := mux.(patterner)
	routed := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if pm != nil {
			if _, p := pm.Handler(r); p != "" && p != "/" {
				if _, path, ok := strings.Cut(p, " "); ok {
					p = path
				}
				infoOf(r).endpoint = strings.TrimSuffix(p, "{$}")
			}
		}
		mux.ServeHTTP(w, r)
	})
	var inner http.Handler = routed
	if a.base != "" {
		// The endpoints hang under the issuer's path; the metadata of an
		// issuer with a path is also at the well-known path with the
		// issuer's path appended (RFC 8414 3.1).
		strip := http.StripPrefix(a.base, routed)
		wellKnown := server.MetadataPath(a.issuer)
		inner = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path == wellKnown {
				infoOf(r).endpoint = server.PathMetadata
				a.server.HandleMetadataRequest(w, r)
				return
			}
			strip.ServeHTTP(w, r)
		})
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		info := &requestInfo{}
		r = r.WithContext(context.WithValue(r.Context(), infoKey{}, info))
		sw := &statusWriter{ResponseWriter: w}
		inner.ServeHTTP(sw, r)
		d := time.Since(start)
		if sw.status == 0 {
			sw.status = http.StatusOK
		}
		endpoint := info.endpoint
		if endpoint == "" {
			endpoint = "other"
		}
		a.metrics.httpDuration.WithLabelValues(endpoint).Observe(d.Seconds())
		attrs := []slog.Attr{
			slog.String("method", r.Method),
			slog.String("path", r.URL.Path),
			slog.Int("status", sw.status),
			slog.Duration("duration", d),
		}
		if info.clientID != "" {
			attrs = append(attrs, slog.String("client_id", info.clientID))
		}
		a.log.LogAttrs(r.Context(), slog.LevelInfo, "request", attrs...)
	})
}

// maxLoggedClientID bounds a client_id taken from a request before it is
// logged or counted.
const maxLoggedClientID = 128

func boundClientID(id string) string {
	if len(id) > maxLoggedClientID {
		id = id[:maxLoggedClientID]
	}
	return strings.ToValidUTF8(id, "\uFFFD")
}

// handleAuthorize serves the authorization endpoint (RFC 6749 3.1) through
// the server, with the login and consent pages as its
// UserAuthorizationHandler.
func (a *App) handleAuthorize(w http.ResponseWriter, r *http.Request) {
	info := infoOf(r)
	info.clientID = boundClientID(r.URL.Query().Get("client_id"))
	_ = a.server.HandleAuthorizeRequest(w, r)
	if info.clientID == "" && r.Form != nil {
		info.clientID = boundClientID(r.Form.Get("client_id"))
	}
	if loc := w.Header().Get("Location"); strings.Contains(loc, "#") && strings.Contains(loc, "access_token=") {
		a.metrics.tokensIssued.WithLabelValues("implicit").Inc()
	}
}

// bufferedResponse holds a token endpoint response until the handler has
// decided whether to delay it.
type bufferedResponse struct {
	header http.Header
	status int
	body   bytes.Buffer
}

func (b *bufferedResponse) Header() http.Header { return b.header }

func (b *bufferedResponse) WriteHeader(code int) {
	if b.status == 0 {
		b.status = code
	}
}

func (b *bufferedResponse) Write(p []byte) (int, error) {
	if b.status == 0 {
		b.status = http.StatusOK
	}
	return b.body.Write(p)
}

func (b *bufferedResponse) flush(w http.ResponseWriter) {
	h := w.Header()
	for k, v := range b.header {
		h[k] = v
	}
	if b.status == 0 {
		b.status = http.StatusOK
	}
	w.WriteHeader(b.status)
	_, _ = w.Write(b.body.Bytes())
}

// errThrottledClient is the answer to a client locked out after repeated
// failed authentications: invalid_client (RFC 6749 5.2) with status 429
// and Retry-After (RFC 6585 4).
var errThrottledClient = errors.New(errors.ErrInvalidClient, "Too many failed client authentications; try again later")

// handleToken serves the token endpoint (RFC 6749 3.2) through the server,
// throttling failed client authentications per client_id: after repeated
// failures answers are delayed, then the client is refused with 429 for a
// while. It also counts issued tokens by grant.
func (a *App) handleToken(w http.ResponseWriter, r *http.Request) {
	a.serveClientEndpoint(w, r, a.server.HandleTokenRequest, true)
}

// handleRevoke serves the revocation endpoint (RFC 7009 2), whose client
// authentication is throttled as the token endpoint's.
func (a *App) handleRevoke(w http.ResponseWriter, r *http.Request) {
	a.serveClientEndpoint(w, r, a.server.HandleRevocationRequest, false)
}

// handleIntrospect serves the introspection endpoint (RFC 7662 2), whose
// client authentication is throttled as the token endpoint's.
func (a *App) handleIntrospect(w http.ResponseWriter, r *http.Request) {
	a.serveClientEndpoint(w, r, a.server.HandleIntrospectionRequest, false)
}

// handleDeviceAuthorization serves the device authorization endpoint (RFC
// 8628 3.1), whose client authentication is throttled as the token
// endpoint's.
func (a *App) handleDeviceAuthorization(w http.ResponseWriter, r *http.Request) {
	a.serveClientEndpoint(w, r, a.server.HandleDeviceAuthorizationRequest, false)
}

// serveClientEndpoint serves an endpoint where a client authenticates as
// at the token endpoint (RFC 6749 2.3; RFC 7009 2.1, RFC 7662 2.1, RFC
// 8628 3.1) with serve, throttling failed client authentications per
// client_id; countGrant counts the tokens of a 200 by grant type.
func (a *App) serveClientEndpoint(w http.ResponseWriter, r *http.Request, serve func(http.ResponseWriter, *http.Request) error, countGrant bool) {
	ctx := r.Context()
	info := infoOf(r)
	form, release := peekTokenForm(r, server.DefaultMaxBodyBytes)
	defer release()
	clientID := boundClientID(tokenClientID(r, form))
	info.clientID = clientID
	if clientID != "" {
		retry, err := a.clientThrottle.Check(ctx, clientID)
		switch {
		case stderrors.Is(err, web.ErrThrottled):
			a.log.Warn("client authentication throttled", "client_id", clientID)
			w.Header().Set("Retry-After", strconv.Itoa(max(1, int(retry.Round(time.Second)/time.Second))))
			a.writeTokenError(w, errThrottledClient, http.StatusTooManyRequests)
			return
		case err != nil:
			a.log.Error("client throttle", "err", err)
			a.writeTokenError(w, err, 0)
			return
		}
	}
	buf := &bufferedResponse{header: make(http.Header)}
	_ = serve(buf, r)
	switch buf.status {
	case http.StatusOK:
		if countGrant {
			a.metrics.tokensIssued.WithLabelValues(grantLabel(form.get("grant_type"))).Inc()
		}
	case http.StatusUnauthorized:
		if clientID != "" {
			delay, err := a.clientThrottle.Fail(ctx, clientID)
			if err != nil && !stderrors.Is(err, web.ErrThrottled) {
				a.log.Error("client throttle", "err", err)
			}
			web.Wait(ctx, delay)
		}
	}
	buf.flush(w)
}

// writeTokenError writes a token endpoint error (RFC 6749 5.2) mapped
// through the error catalog; status 0 takes the catalog's.
func (a *App) writeTokenError(w http.ResponseWriter, err error, status int) {
	a.metrics.countError(err)
	code, st, desc := errors.Lookup(err)
	if status == 0 {
		status = st
	}
	h := w.Header()
	h.Set("Content-Type", "application/json;charset=UTF-8")
	h.Set("Cache-Control", "no-store")
	h.Set("Pragma", "no-cache")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]string{"error": code.Error(), "error_description": desc})
}

// tokenParams are the parameters of a token request that the wrapper
// reads: the body, read ahead without consuming it, and the query.
type tokenParams struct {
	body  []byte
	query string
}

// get returns the first value of key in the body, else in the query.
func (p tokenParams) get(key string) string {
	if v, ok := formValue(string(p.body), key); ok {
		return v
	}
	v, _ := formValue(p.query, key)
	return v
}

// formValue returns the first value of key in a form-encoded string,
// decoding only that value.
func formValue(form, key string) (string, bool) {
	for form != "" {
		var pair string
		pair, form, _ = strings.Cut(form, "&")
		k, v, _ := strings.Cut(pair, "=")
		if k != key {
			if !strings.ContainsAny(k, "%+") {
				continue
			}
			if dk, err := url.QueryUnescape(k); err != nil || dk != key {
				continue
			}
		}
		dv, err := url.QueryUnescape(v)
		if err != nil {
			return "", false
		}
		return dv, true
	}
	return "", false
}

var peekBufs = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// peekTokenForm reads the body of a token request without consuming it:
// up to limit bytes are read and put back in front of what is left, so
// that the server reads the request as it came. release returns the buffer
// once the server is done with the request.
func peekTokenForm(r *http.Request, limit int64) (p tokenParams, release func()) {
	p.query = r.URL.RawQuery
	release = func() {}
	if r.Method != http.MethodPost || r.Body == nil || r.Body == http.NoBody {
		return p, release
	}
	if mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || mt != "application/x-www-form-urlencoded" {
		return p, release
	}
	buf := peekBufs.Get().(*bytes.Buffer)
	buf.Reset()
	release = func() {
		if buf.Cap() <= 64<<10 {
			peekBufs.Put(buf)
		}
	}
	body := r.Body
	_, err := buf.ReadFrom(io.LimitReader(body, limit+1))
	r.Body = struct {
		io.Reader
		io.Closer
	}{io.MultiReader(bytes.NewReader(buf.Bytes()), body), body}
	if err == nil && int64(buf.Len()) <= limit {
		p.body = buf.Bytes()
	}
	return p, release
}

// tokenClientID returns the client_id a token request claims, unverified,
// for throttling and logs: from Basic credentials (RFC 6749 2.3.1, form
// encoded), the client_id parameter, or the subject of a client assertion
// (RFC 7523 3).
func tokenClientID(r *http.Request, p tokenParams) string {
	if id, _, ok := r.BasicAuth(); ok {
		if dec, err := url.QueryUnescape(id); err == nil {
			return dec
		}
		return id
	}
	if id := p.get("client_id"); id != "" {
		return id
	}
	if a := p.get("client_assertion"); a != "" {
		parts := strings.Split(a, ".")
		if len(parts) == 3 {
			if payload, err := base64.RawURLEncoding.DecodeString(parts[1]); err == nil && utf8.Valid(payload) {
				var claims struct {
					Iss string `json:"iss"`
					Sub string `json:"sub"`
				}
				if json.Unmarshal(payload, &claims) == nil {
					if claims.Sub != "" {
						return claims.Sub
					}
					return claims.Iss
				}
			}
		}
	}
	return ""
}

// handleHealth answers 200 when the store answers, 503 when it does not.
func (a *App) handleHealth(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Cache-Control", "no-store")
	if err := a.checkStore(r.Context(), 2*time.Second); err != nil {
		a.log.Warn("health check: store does not answer", "err", err)
		w.WriteHeader(http.StatusServiceUnavailable)
		_, _ = io.WriteString(w, `{"status":"unavailable","store":"down"}`+"\n")
		return
	}
	_, _ = io.WriteString(w, `{"status":"ok","store":"up"}`+"\n")
}
