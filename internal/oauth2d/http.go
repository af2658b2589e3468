package oauth2d

import (
	"encoding/json"
	stderrors "errors"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/oauth2d/oauth2/errors"
	"github.com/oauth2d/oauth2/internal/web"
	"github.com/oauth2d/oauth2/server"
)

// route is an endpoint of routes(): its label in the metrics and its
// duration histogram, resolved once at start.
type route struct {
	label    string
	duration prometheus.Observer
}

// respWriter is the ResponseWriter the middleware hands to every handler.
// It records what the request's log line and metrics need (the status, the
// route, the client), and runs the client throttle when an endpoint where
// clients authenticate answers 401. It is pooled: a handler must not keep
// it after it returns.
type respWriter struct {
	http.ResponseWriter
	status   int
	route    *route
	clientID string
	// gate, when set, counts a 401 as a failed client authentication of
	// clientID, and delays it, before the status is written.
	gate *clientGate
	req  *http.Request
}

var respWriters = sync.Pool{New: func() any { return new(respWriter) }}

// writerOf returns the middleware's respWriter of w, or a new one around
// w for a handler called without the middleware.
func writerOf(w http.ResponseWriter) *respWriter {
	if rw, ok := w.(*respWriter); ok {
		return rw
	}
	return &respWriter{ResponseWriter: w}
}

// WriteHeader records the first status, and runs the client throttle
// before a 401 goes out.
func (w *respWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
		if code == http.StatusUnauthorized && w.gate != nil {
			w.gate.failed(w.req.Context(), w.clientID)
		}
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

// middleware logs one line per request and measures its duration by
// endpoint. The line has the method, the path (never the query, which can
// hold a code or a state), the status, the duration and the client_id;
// never a token, code, secret or password. Nothing is looked up or
// allocated per request for the metrics: the routes resolved their
// histograms at start.
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
				writerOf(w).route = metadata
				a.server.HandleMetadataRequest(w, r)
				return
			}
			strip.ServeHTTP(w, r)
		})
	}
	other := a.route("other")
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		rw := respWriters.Get().(*respWriter)
		rw.ResponseWriter = w
		inner.ServeHTTP(rw, r)
		d := time.Since(start)
		status, rt, clientID := rw.status, rw.route, rw.clientID
		*rw = respWriter{}
		respWriters.Put(rw)
		if status == 0 {
			status = http.StatusOK
		}
		if rt == nil {
			rt = other
		}
		rt.duration.Observe(d.Seconds())
		a.logRequest(r, start.Add(d), status, d, clientID)
	})
}

// logRequest writes the request's log line straight to the logger's
// handler: no caller lookup, and the attributes fit in the record.
func (a *App) logRequest(r *http.Request, at time.Time, status int, d time.Duration, clientID string) {
	ctx := r.Context()
	h := a.log.Handler()
	if !h.Enabled(ctx, slog.LevelInfo) {
		return
	}
	rec := slog.NewRecord(at, slog.LevelInfo, "request", 0)
	rec.AddAttrs(
		slog.String("method", r.Method),
		slog.String("path", r.URL.Path),
		slog.Int("status", status),
		slog.Duration("duration", d),
	)
	if clientID != "" {
		rec.AddAttrs(slog.String("client_id", clientID))
	}
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
	rw := writerOf(w)
	rw.clientID = boundClientID(r.URL.Query().Get("client_id"))
	_ = a.server.HandleAuthorizeRequest(rw, r)
	if rw.clientID == "" && r.Form != nil {
		rw.clientID = boundClientID(r.Form.Get("client_id"))
	}
	if loc := w.Header().Get("Location"); strings.Contains(loc, "#") && strings.Contains(loc, "access_token=") {
		a.metrics.issued("implicit")
	}
}

// errThrottledClient is the answer to a client locked out after repeated
// failed authentications: invalid_client (RFC 6749 5.2) with status 429
// and Retry-After (RFC 6585 4).
var errThrottledClient = errors.WithDescription(errors.ErrInvalidClient, "Too many failed client authentications; try again later")

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
// client_id (a 401 counts as a failure, and is delayed after repeated
// ones); countGrant counts the tokens of a 200 by grant type.
func (a *App) serveClientEndpoint(w http.ResponseWriter, r *http.Request, serve func(http.ResponseWriter, *http.Request) error, countGrant bool) {
	rw := writerOf(w)
	pb := peekTokenForm(r, a.maxBody)
	defer pb.release()
	clientID := a.clientGate.name(tokenClientID(r, pb))
	rw.clientID = clientID
	if clientID != "" {
		retry, err := a.clientGate.check(r.Context(), clientID)
		switch {
		case stderrors.Is(err, web.ErrThrottled):
			a.log.Warn("client authentication throttled", "client_id", clientID)
			w.Header().Set("Retry-After", strconv.Itoa(max(1, int(retry.Round(time.Second)/time.Second))))
			a.writeTokenError(rw, errThrottledClient, http.StatusTooManyRequests)
			return
		case err != nil:
			a.log.Error("client throttle", "err", err)
			a.writeTokenError(rw, err, 0)
			return
		}
		rw.gate, rw.req = a.clientGate, r
	}
	_ = serve(rw, r)
	rw.gate, rw.req = nil, nil
	if countGrant && rw.status == http.StatusOK {
		a.metrics.issued(pb.params.grantLabel())
	}
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
