package oauth2d

import (
	"context"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/oauth2d/oauth2"
	"github.com/oauth2d/oauth2/errors"
	"github.com/oauth2d/oauth2/server"
)

// metrics are the Prometheus metrics of one App, in a registry of its
// own so that several Apps in one process (tests, benchmarks) do not
// collide.
type metrics struct {
	reg           *prometheus.Registry
	tokensIssued  *prometheus.CounterVec
	errors        *prometheus.CounterVec
	httpDuration  *prometheus.HistogramVec
	storeDuration *prometheus.HistogramVec

	// The children of tokensIssued by grant label and of errors by code,
	// resolved at start so that counting looks nothing up in the vectors.
	issuedBy map[string]prometheus.Counter
	errorsBy map[string]prometheus.Counter
}

// grantLabels are the values of the grant label: the short name of every
// grant the server knows (server.Grants), then "other".
var grantLabels = func() []string {
	var labels []string
	for _, g := range server.Grants() {
		labels = append(labels, g.Name)
	}
	return append(labels, "other")
}()

func newMetrics() *metrics {
	m := &metrics{
		reg: prometheus.NewRegistry(),
		tokensIssued: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "oauth2d_tokens_issued_total",
			Help: "Access tokens issued, by grant type.",
		}, []string{"grant"}),
		errors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "oauth2d_errors_total",
			Help: "OAuth error responses, by RFC 6749 error code.",
		}, []string{"code"}),
		httpDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "oauth2d_http_request_duration_seconds",
			Help:    "Time to answer HTTP requests, by endpoint.",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5},
		}, []string{"endpoint"}),
		storeDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "oauth2d_store_duration_seconds",
			Help:    "Time of store operations, by operation.",
			Buckets: []float64{.0001, .00025, .0005, .001, .0025, .005, .01, .025, .05, .1, .25, 1},
		}, []string{"op"}),
	}
	m.reg.MustRegister(m.tokensIssued, m.errors, m.httpDuration, m.storeDuration,
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	m.issuedBy = make(map[string]prometheus.Counter, len(grantLabels))
	for _, g := range grantLabels {
		m.issuedBy[g] = m.tokensIssued.WithLabelValues(g)
	}
	m.errorsBy = make(map[string]prometheus.Counter, len(errors.Descriptions))
	for code := range errors.Descriptions {
		m.errorsBy[code.Error()] = m.errors.WithLabelValues(code.Error())
	}
	return m
}

// issued counts an access token issued by the grant of label, one of
// grantLabels.
func (m *metrics) issued(label string) {
	if c, ok := m.issuedBy[label]; ok {
		c.Inc()
	}
}

func (m *metrics) handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{})
}

// grantLabel bounds the grant label to the grant types the server knows
// (grantLabels).
func grantLabel(gt string) string {
	switch oauth2.GrantType(gt) {
	case oauth2.AuthorizationCode, oauth2.Refreshing, oauth2.ClientCredentials,
		oauth2.PasswordCredentials:
		return gt
	case oauth2.DeviceCode:
		return "device_code"
	case "implicit", oauth2.Implicit:
		return "implicit"
	case oauth2.TokenExchange:
		return "token_exchange"
	}
	return "other"
}

// countError counts an error response by its RFC code, through the
// catalog, so that the label only takes catalog values.
func (m *metrics) countError(err error) {
	code := errors.Code(err)
	if c, ok := m.errorsBy[code]; ok {
		c.Inc()
	} else if code != "" {
		m.errors.WithLabelValues(code).Inc()
	}
}

// instrumentedStore measures every operation of the token store and of the
// KVStore the server uses, and is both, so that code that looks for a
// KVStore on the manager's token store finds the one the App uses.
type instrumentedStore struct {
	ts oauth2.TokenStore
	kv oauth2.KVStore
	ob [numStoreOps]prometheus.Observer
}

var (
	_ oauth2.TokenStore = (*instrumentedStore)(nil)
	_ oauth2.KVStore    = (*instrumentedStore)(nil)
)

// storeOp is a store operation, the index of its observer.
type storeOp int

// The store operations, in the order of storeOps.
const (
	opCreate storeOp = iota
	opRemoveByCode
	opRemoveByAccess
	opRemoveByRefresh
	opGetByCode
	opGetByAccess
	opGetByRefresh
	opExchangeCode
	opRotateRefresh
	opRevokeGrant
	opKVPut
	opKVPutIfAbsent
	opKVGet
	opKVTake
	opKVDelete
	opKVIncr
	numStoreOps
)

// storeOps are the op labels of the store operations.
var storeOps = [numStoreOps]string{
	"create", "remove_by_code", "remove_by_access", "remove_by_refresh",
	"get_by_code", "get_by_access", "get_by_refresh", "exchange_code",
	"rotate_refresh", "revoke_grant",
	"kv_put", "kv_put_if_absent", "kv_get", "kv_take", "kv_delete", "kv_incr",
}

func newInstrumentedStore(ts oauth2.TokenStore, kv oauth2.KVStore, m *metrics) *instrumentedStore {
	s := &instrumentedStore{ts: ts, kv: kv}
	for op, label := range storeOps {
		s.ob[op] = m.storeDuration.WithLabelValues(label)
	}
	return s
}

// observe records the duration of a store call that started at start, a
// monoNow reading.
func (s *instrumentedStore) observe(op storeOp, start time.Duration) {
	s.ob[op].Observe((monoNow() - start).Seconds())
}

// monoEpoch is the origin of monoNow.
var monoEpoch = time.Now()

// monoNow reads the monotonic clock alone, as the time since monoEpoch:
// one clock read where time.Now makes two (wall and monotonic), for the
// durations measured around every store call.
func monoNow() time.Duration { return time.Since(monoEpoch) }

// Create stores info (oauth2.TokenStore).
func (s *instrumentedStore) Create(ctx context.Context, info oauth2.TokenInfo) error {
	defer s.observe(opCreate, monoNow())
	return s.ts.Create(ctx, info)
}

// RemoveByCode removes a code (oauth2.TokenStore).
func (s *instrumentedStore) RemoveByCode(ctx context.Context, code string) error {
	defer s.observe(opRemoveByCode, monoNow())
	return s.ts.RemoveByCode(ctx, code)
}

// RemoveByAccess removes an access token (oauth2.TokenStore).
func (s *instrumentedStore) RemoveByAccess(ctx context.Context, access string) error {
	defer s.observe(opRemoveByAccess, monoNow())
	return s.ts.RemoveByAccess(ctx, access)
}

// RemoveByRefresh removes a refresh token (oauth2.TokenStore).
func (s *instrumentedStore) RemoveByRefresh(ctx context.Context, refresh string) error {
	defer s.observe(opRemoveByRefresh, monoNow())
	return s.ts.RemoveByRefresh(ctx, refresh)
}

// GetByCode reads a code (oauth2.TokenStore).
func (s *instrumentedStore) GetByCode(ctx context.Context, code string) (oauth2.TokenInfo, error) {
	defer s.observe(opGetByCode, monoNow())
	return s.ts.GetByCode(ctx, code)
}

// GetByAccess reads an access token (oauth2.TokenStore).
func (s *instrumentedStore) GetByAccess(ctx context.Context, access string) (oauth2.TokenInfo, error) {
	defer s.observe(opGetByAccess, monoNow())
	return s.ts.GetByAccess(ctx, access)
}

// GetByRefresh reads a refresh token (oauth2.TokenStore).
func (s *instrumentedStore) GetByRefresh(ctx context.Context, refresh string) (oauth2.TokenInfo, error) {
	defer s.observe(opGetByRefresh, monoNow())
	return s.ts.GetByRefresh(ctx, refresh)
}

// ExchangeCode consumes a code (oauth2.TokenStore).
func (s *instrumentedStore) ExchangeCode(ctx context.Context, code string, issued oauth2.TokenInfo) error {
	defer s.observe(opExchangeCode, monoNow())
	return s.ts.ExchangeCode(ctx, code, issued)
}

// RotateRefresh rotates a refresh token (oauth2.TokenStore).
func (s *instrumentedStore) RotateRefresh(ctx context.Context, refresh string, issued oauth2.TokenInfo) error {
	defer s.observe(opRotateRefresh, monoNow())
	return s.ts.RotateRefresh(ctx, refresh, issued)
}

// RevokeGrant revokes a grant (oauth2.TokenStore).
func (s *instrumentedStore) RevokeGrant(ctx context.Context, grantID string) error {
	defer s.observe(opRevokeGrant, monoNow())
	return s.ts.RevokeGrant(ctx, grantID)
}

// Put stores a value (oauth2.KVStore).
func (s *instrumentedStore) Put(ctx context.Context, key string, value []byte, ttl time.Duration) error {
	defer s.observe(opKVPut, monoNow())
	return s.kv.Put(ctx, key, value, ttl)
}

// PutIfAbsent stores a value if absent (oauth2.KVStore).
func (s *instrumentedStore) PutIfAbsent(ctx context.Context, key string, value []byte, ttl time.Duration) (bool, error) {
	defer s.observe(opKVPutIfAbsent, monoNow())
	return s.kv.PutIfAbsent(ctx, key, value, ttl)
}

// Get reads a value (oauth2.KVStore).
func (s *instrumentedStore) Get(ctx context.Context, key string) ([]byte, error) {
	defer s.observe(opKVGet, monoNow())
	return s.kv.Get(ctx, key)
}

// Take reads and deletes a value (oauth2.KVStore).
func (s *instrumentedStore) Take(ctx context.Context, key string) ([]byte, error) {
	defer s.observe(opKVTake, monoNow())
	return s.kv.Take(ctx, key)
}

// Delete deletes a value (oauth2.KVStore).
func (s *instrumentedStore) Delete(ctx context.Context, key string) error {
	defer s.observe(opKVDelete, monoNow())
	return s.kv.Delete(ctx, key)
}

// Incr counts (oauth2.KVStore).
func (s *instrumentedStore) Incr(ctx context.Context, key string, ttl time.Duration) (int64, error) {
	defer s.observe(opKVIncr, monoNow())
	return s.kv.Incr(ctx, key, ttl)
}
