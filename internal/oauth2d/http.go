package oauth2d

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	stderrors "errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/oauth2d/oauth2"
	"github.com/oauth2d/oauth2/errors"
	"github.com/oauth2d/oauth2/internal/clientip"
	"github.com/oauth2d/oauth2/internal/throttle"
	"github.com/oauth2d/oauth2/internal/web"
	"github.com/oauth2d/oauth2/server"
)

// route is an endpoint of routes(): its label in the metrics and its
// duration histogram, resolved once at start.
type route struct {
	label    string
	duration prometheus.Observer
}

// respWriter is the ResponseWriter the middleware hands to every handler,
// and the record of its request: what the log line and the metrics need
// (the status, the route, the client) and what the server's hooks
// (ClientAuthHandler, TokenIssuedHandler, the user authorization) keep
// between their calls. The hooks get only the request; the endpoints that
// have hooks put the record in reach of the request's context (withRecord,
// recordOf): in its connection's record slot (ConnContext) for an HTTP/1
// request, else in a context of its own. It is pooled: nothing may keep it
// after the middleware is done with it.
type respWriter struct {
	http.ResponseWriter
	app      *App
	status   int
	route    *route
	clientID string
	// addr is the client's address (internal/clientip); proxied reports
	// that a trusted proxy reported it.
	addr    netip.Addr
	proxied bool
	// req is the request with the record in its context, once an
	// endpoint with hooks made it.
	req *http.Request
	// ticket is the throttle's admission of the client authentication in
	// progress, and authDone the ClientAuthHandler's done function,
	// bound to this record once, so that a request allocates no closure.
	ticket   throttle.Ticket
	authDone func(oauth2.ClientInfo, error)
	// pending is what the pages leave to do once this authorization
	// request's code is issued (authManager): a consent the user has just
	// given, the request's sign-in mark.
	pending *web.Pending
	// requestURI is the request_uri of a pushed authorization request
	// (RFC 9126 4), which the pages resume it with (protocol.go).
	requestURI string
	// slot is the connection's record slot (ConnContext), holding this
	// record while it serves an HTTP/1 request; nil otherwise. Once
	// withRecord has set req, recordOf finds the record through it.
	slot *connSlot
}

var respWriters = sync.Pool{New: func() any { return newRespWriter() }}

func newRespWriter() *respWriter {
	rw := new(respWriter)
	rw.authDone = rw.clientAuthDone
	return rw
}

// reset clears the record for its next request, keeping authDone.
func (w *respWriter) reset() {
	done := w.authDone
	*w = respWriter{authDone: done}
}

// writerOf returns the middleware's respWriter of w, or a new one around
// w for a handler called without the middleware.
func (a *App) writerOf(w http.ResponseWriter, r *http.Request) *respWriter {
	if rw, ok := w.(*respWriter); ok {
		return rw
	}
	rw := newRespWriter()
	rw.ResponseWriter, rw.app, rw.addr = w, a, a.ips.Addr(r)
	return rw
}

// recordKey is the context key of a request's record.
type recordKey struct{}

// withRecord returns r with its record in its context, made once per
// request: the server's hooks find it there.
func (w *respWriter) withRecord(r *http.Request) *http.Request {
	switch {
	case w.req != nil:
	case w.slot != nil:
		// The connection's slot holds the record: r is returned as is,
		// without a copy of the request and a context of its own.
		w.req = r
	default:
		w.req = r.WithContext(context.WithValue(r.Context(), recordKey{}, w))
	}
	return w.req
}

// recordOf returns the record of a request, or of a context, that went
// through withRecord; nil otherwise.
func recordOf(ctx context.Context) *respWriter {
	if s, ok := ctx.Value(connSlotKey{}).(*connSlot); ok {
		if rw := s.rw; rw != nil && rw.req != nil {
			return rw
		}
	}
	rw, _ := ctx.Value(recordKey{}).(*respWriter)
	return rw
}

// connSlot is a connection's record slot: the record of the request the
// connection serves, set by the middleware for the length of an HTTP/1
// request. An HTTP/1 connection serves one request at a time (RFC 9112
// 9.3: responses are sent in the order of the requests, and net/http
// runs a connection's handlers one after the other), so the slot needs
// no lock; HTTP/2 streams run at once and never use it.
//
// It also keeps the connection's TCP peer, parsed once: remote is the
// address net/http gives every request of the connection as its
// RemoteAddr, peer its clientip.Peer. A request whose RemoteAddr a handler
// in front of the App rewrote is parsed as it comes.
type connSlot struct {
	rw     *respWriter
	remote string
	peer   netip.Addr
}

// connSlotKey is the context key of a connection's record slot.
type connSlotKey struct{}

// ConnContext is the http.Server ConnContext hook of the App's listener:
// it gives each connection a record slot, through which the endpoints
// whose server hooks need the request's record (the token, revocation,
// introspection and authorization endpoints) reach it without copying
// the request into a context of its own; and it parses the connection's
// TCP peer once, not at every request. A server without it works the
// same, a little slower.
func (a *App) ConnContext(ctx context.Context, c net.Conn) context.Context {
	s := new(connSlot)
	if c != nil && c.RemoteAddr() != nil {
		s.remote = c.RemoteAddr().String()
		s.peer = clientip.Peer(s.remote)
	}
	return context.WithValue(ctx, connSlotKey{}, s)
}

// WriteHeader records the first status.
func (w *respWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

// Write writes the body, after an implicit 200.
func (w *respWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the connection.
func (w *respWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// route returns the route of label, made once.
func (a *App) route(label string) *route {
	if rt, ok := a.routeByLabel[label]; ok {
		return rt
	}
	rt := &route{label: label, duration: a.metrics.httpDuration.WithLabelValues(label)}
	a.routeByLabel[label] = rt
	return rt
}

// router is the ServeMux of routes(), with the endpoints whose pattern is
// one exact path for any method (the token endpoint among them) found by a
// map lookup before the mux's matching. Such a pattern is the only one
// that matches its path, so the answer is the mux's.
type router struct {
	exact map[string]http.Handler
	mux   *http.ServeMux
}

// ServeHTTP dispatches r.
func (rt *router) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if h, ok := rt.exact[r.URL.Path]; ok && r.Method != http.MethodConnect {
		h.ServeHTTP(w, r)
		return
	}
	rt.mux.ServeHTTP(w, r)
}

// handle registers h for pattern, labelled in the metrics with the
// pattern's path.
func (a *App) handle(rt *router, pattern string, h http.HandlerFunc) {
	label := pattern
	if _, path, ok := strings.Cut(pattern, " "); ok {
		label = path
	}
	route := a.route(strings.TrimSuffix(label, "{$}"))
	labelled := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if rw, ok := w.(*respWriter); ok {
			rw.route = route
		}
		h(w, r)
	})
	rt.mux.Handle(pattern, labelled)
	if !strings.ContainsAny(pattern, " {") && !strings.HasSuffix(pattern, "/") {
		rt.exact[pattern] = labelled
	}
}

// middleware gives every request a request ID (the X-Request-Id header
// that proxies and tracers use: taken from the request when it is sane,
// made otherwise, and sent back), finds the client's address, logs one
// line per request and measures its duration by endpoint. The line has the method,
// the path (never the query, which can hold a code or a state), the
// status, the duration, the TCP peer, the client address when a trusted
// proxy reported another, the request ID and the client_id; never a token,
// code, secret or password. Nothing is looked up for the metrics: the
// routes resolved their histograms at start.
func (a *App) middleware(mux *router) http.Handler {
	var inner http.Handler = mux
	if a.base != "" {
		// The endpoints hang under the issuer's path; the metadata of an
		// issuer with a path is also at the well-known path with the
		// issuer's path appended (RFC 8414 3.1).
		strip := http.StripPrefix(a.base, mux)
		wellKnown := server.MetadataPath(a.issuer)
		metadata := a.route(server.PathMetadata)
		inner = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path == wellKnown {
				if rw, ok := w.(*respWriter); ok {
					rw.route = metadata
				}
				a.handleMetadata(w, r)
				return
			}
			strip.ServeHTTP(w, r)
		})
	}
	other := a.route("other")
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		id := a.requestID(w, r)
		rw := respWriters.Get().(*respWriter)
		rw.ResponseWriter, rw.app = w, a
		slot := httpOneSlot(r)
		peer := slot.peerOf(r)
		rw.addr = a.ips.AddrFrom(peer, r)
		rw.proxied = a.ips.HasTrusted() && a.ips.Trusted(peer)
		if slot != nil {
			slot.rw, rw.slot = rw, slot
		}
		inner.ServeHTTP(rw, r)
		d := time.Since(start)
		if slot != nil {
			slot.rw = nil
		}
		status, rt, clientID, addr, proxied := rw.status, rw.route, rw.clientID, rw.addr, rw.proxied
		rw.reset()
		respWriters.Put(rw)
		if status == 0 {
			status = http.StatusOK
		}
		if rt == nil {
			rt = other
		}
		rt.duration.Observe(d.Seconds())
		var clientAddr netip.Addr
		if proxied {
			clientAddr = addr
		}
		a.logRequest(r, start.Add(d), status, d, id, clientAddr, clientID)
	})
}

// peerOf returns the TCP peer of r, a request of the slot's connection:
// the one parsed for the connection, unless a handler in front of the App
// rewrote r.RemoteAddr, or s is nil (no slot).
func (s *connSlot) peerOf(r *http.Request) netip.Addr {
	if s != nil && s.peer.IsValid() && r.RemoteAddr == s.remote {
		return s.peer
	}
	return clientip.Peer(r.RemoteAddr)
}

// httpOneSlot returns the record slot of r's connection when r is an
// HTTP/1 request on a connection that has one (ConnContext); nil
// otherwise.
func httpOneSlot(r *http.Request) *connSlot {
	if r.ProtoMajor != 1 {
		return nil
	}
	s, _ := r.Context().Value(connSlotKey{}).(*connSlot)
	return s
}

// maxRequestID bounds an X-Request-Id taken from a request.
const maxRequestID = 128

// saneRequestID reports whether a request's X-Request-Id may be logged and
// echoed: 1 to 128 characters of letters, digits and -._~:/+=@.
func saneRequestID(id string) bool {
	if id == "" || len(id) > maxRequestID {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || strings.IndexByte("-._~:/+=@", c) >= 0) {
			return false
		}
	}
	return true
}

// requestIDs makes request IDs: a random prefix per process and a count,
// unique across processes and cheap (request IDs are not secrets).
var requestIDs = struct {
	prefix string
	n      atomic.Uint64
}{prefix: func() string {
	var b [6]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}()}

// requestID returns the request's sane X-Request-Id, or a new one, and
// sets it on the response.
func (a *App) requestID(w http.ResponseWriter, r *http.Request) string {
	if ids := r.Header["X-Request-Id"]; len(ids) == 1 && saneRequestID(ids[0]) {
		// The request's own one-element slice, shared read-only.
		w.Header()["X-Request-Id"] = ids
		return ids[0]
	}
	// The ID's bytes and the header's one-element slice share one
	// allocation: a request ID is made for most requests.
	g := new(generatedID)
	b := append(g.buf[:0], requestIDs.prefix...)
	b = append(b, '-')
	b = strconv.AppendUint(b, requestIDs.n.Add(1), 36)
	g.val[0] = unsafe.String(&g.buf[0], len(b))
	w.Header()["X-Request-Id"] = g.val[:]
	return g.val[0]
}

// generatedID holds a generated request ID: its bytes, which are never
// changed once the string is made, and the header value slice.
type generatedID struct {
	val [1]string
	buf [len("0123456789ab-") + 16]byte
}

// logRequest writes the request's log line straight to the logger's
// handler, without a caller lookup. clientAddr, when valid, is the client
// address a trusted proxy reported.
func (a *App) logRequest(r *http.Request, at time.Time, status int, d time.Duration, id string, clientAddr netip.Addr, clientID string) {
	ctx := r.Context()
	h := a.log.Handler()
	l := accessLine{at: at, method: r.Method, path: r.URL.Path, status: status, duration: d,
		peer: r.RemoteAddr, requestID: id, clientAddr: clientAddr, clientID: clientID}
	if writeAccessLine(ctx, h, &l) || !h.Enabled(ctx, slog.LevelInfo) {
		return
	}
	rec := slog.NewRecord(at, slog.LevelInfo, "request", 0)
	var attrs [8]slog.Attr
	list := append(attrs[:0],
		slog.String("method", l.method),
		slog.String("path", l.path),
		slog.Int("status", l.status),
		slog.Duration("duration", l.duration),
		slog.String("peer", l.peer),
		slog.String("request_id", l.requestID),
	)
	if l.clientAddr.IsValid() {
		list = append(list, slog.String("client_addr", l.clientAddr.String()))
	}
	if l.clientID != "" {
		list = append(list, slog.String("client_id", l.clientID))
	}
	// One call, so that the attributes beyond the record's inline ones
	// take one allocation.
	rec.AddAttrs(list...)
	_ = h.Handle(ctx, rec)
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
	rw := a.writerOf(w, r)
	r = rw.withRecord(r)
	rw.requestURI = a.pushedRequestURI(rw, r)
	_ = a.server.HandleAuthorizeRequest(rw, r)
	if rw.clientID == "" && r.Form != nil {
		// The client_id as the server parsed it.
		rw.clientID = boundClientID(r.Form.Get("client_id"))
	}
}

// errThrottledClient is the answer to a client refused after repeated
// failed authentications from its address: invalid_client (RFC 6749 5.2)
// with status 429 and Retry-After (RFC 6585 4).
var errThrottledClient = errors.WithDescription(errors.ErrInvalidClient, "Too many failed client authentications from this address; try again later")

// handleToken serves the token endpoint (RFC 6749 3.2) through the server.
// The server's hooks throttle failed client authentications
// (clientAuthHook) and count issued tokens (tokenIssued).
func (a *App) handleToken(w http.ResponseWriter, r *http.Request) {
	a.serveClientEndpoint(w, r, a.server.HandleTokenRequest)
}

// handleRevoke serves the revocation endpoint (RFC 7009 2), whose client
// authentication is throttled as the token endpoint's.
func (a *App) handleRevoke(w http.ResponseWriter, r *http.Request) {
	a.serveClientEndpoint(w, r, a.server.HandleRevocationRequest)
}

// handleIntrospect serves the introspection endpoint (RFC 7662 2), whose
// client authentication is throttled as the token endpoint's.
func (a *App) handleIntrospect(w http.ResponseWriter, r *http.Request) {
	a.serveClientEndpoint(w, r, a.server.HandleIntrospectionRequest)
}

// handleDeviceAuthorization serves the device authorization endpoint (RFC
// 8628 3.1), whose client authentication is throttled as the token
// endpoint's.
func (a *App) handleDeviceAuthorization(w http.ResponseWriter, r *http.Request) {
	a.serveClientEndpoint(w, r, a.server.HandleDeviceAuthorizationRequest)
}

// serveClientEndpoint serves an endpoint where a client authenticates (RFC
// 6749 2.3; RFC 7009 2.1, RFC 7662 2.1, RFC 8628 3.1) with serve, with the
// request's record in its context for the server's hooks.
func (a *App) serveClientEndpoint(w http.ResponseWriter, r *http.Request, serve func(http.ResponseWriter, *http.Request) error) {
	rw := a.writerOf(w, r)
	_ = serve(rw, rw.withRecord(r))
	rw.ticket = throttle.Ticket{}
}

// clientAuthHook is the server's ClientAuthHandler: it is called with the
// client a request claims to be, as the server read it, before the
// credentials are verified. It names the client in the log line, and
// admits the attempt through the client throttle, keyed by client and
// address: public clients (method none) have no secret to guess and are
// never throttled. A refused attempt is answered 429 without verifying
// anything.
func (a *App) clientAuthHook(r *http.Request, clientID, method string) (func(oauth2.ClientInfo, error), error) {
	rw := recordOf(r.Context())
	if rw == nil {
		// A server call outside the App's endpoints.
		rw = newRespWriter()
		rw.app, rw.addr, rw.req = a, a.ips.Addr(r), r
	}
	rw.clientID = boundClientID(clientID)
	if method == server.AuthMethodNone {
		return nil, nil
	}
	ctx := r.Context()
	t, err := a.clientGate.Begin(ctx, clientID, rw.addr)
	if err != nil {
		var le *throttle.LockedError
		if stderrors.As(err, &le) {
			a.log.Warn("client authentication throttled", "client_id", rw.clientID, "client_addr", rw.addr.String())
			return nil, errors.WithStatus(errThrottledClient, http.StatusTooManyRequests,
				http.Header{"Retry-After": {le.RetryAfterHeader()}})
		}
		a.log.Error("client throttle", "err", err)
		return nil, err
	}
	rw.ticket = t
	if rw.req == nil {
		rw.req = r
	}
	return rw.authDone, nil
}

// clientAuthDone hears the outcome of the client authentication that
// clientAuthHook admitted: the authenticated client names the log line, a
// failure is counted and answered after the throttle's delay. A store
// failure is no failure of the client: the attempt is given up without a
// count.
func (w *respWriter) clientAuthDone(c oauth2.ClientInfo, err error) {
	if c != nil {
		w.clientID = c.GetID()
	}
	t := w.ticket
	w.ticket = throttle.Ticket{}
	ctx := context.Background()
	if w.req != nil {
		ctx = w.req.Context()
	}
	if err != nil && !stderrors.Is(err, errors.ErrInvalidClient) {
		t.Abandon()
		return
	}
	delay, _, terr := t.Done(ctx, err == nil)
	if terr != nil {
		w.app.log.Error("client throttle", "err", terr)
	}
	throttle.Wait(ctx, delay)
}

// tokenIssued is the server's TokenIssuedHandler: it counts the token by
// grant, and records a grant of a user in the grant index (grants.go).
// (The log line's client_id is the authenticated client's, which
// clientAuthDone recorded.)
func (a *App) tokenIssued(r *http.Request, gt oauth2.GrantType, ti oauth2.TokenInfo) {
	a.metrics.issued(grantLabel(string(gt)))
	a.indexGrant(r.Context(), ti)
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
