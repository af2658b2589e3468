package server_test

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/go-jose/go-jose/v4"

	"github.com/oauth2d/oauth2/internal/dpoptest"
)

// FuzzValidateResourceRequest feeds the resource helper arbitrary
// Authorization and DPoP headers: it never panics, never accepts a request
// without a live token of the server, and answers every refusal with a
// challenge.
func FuzzValidateResourceRequest(f *testing.F) {
	e := newSenderEnv(f)
	p := dpoptest.NewProver(jose.ES256)
	p.Now = e.clock
	tok := e.clientToken(confID)
	f.Add("Bearer "+tok, "")
	f.Add("DPoP "+tok, p.Proof("GET", "http://rs.example/api", tok))
	f.Add("DPoP", "a.b.c")
	f.Add("dpop  x", "..")
	f.Add("Basic Zm9vOmJhcg==", "")
	f.Fuzz(func(t *testing.T, authz, proof string) {
		r := httptest.NewRequest(http.MethodGet, "http://rs.example/api", nil)
		if authz != "" {
			r.Header["Authorization"] = []string{authz}
		}
		if proof != "" {
			r.Header["Dpop"] = []string{proof}
		}
		w := httptest.NewRecorder()
		ti, err := e.srv.ValidateResourceRequest(w, r)
		if err == nil {
			if ti == nil || ti.GetAccess() != tok {
				t.Fatalf("accepted %q with a record of another token", authz)
			}
			return
		}
		e.srv.WriteResourceError(w, r, err)
		if w.Code < 400 || (w.Code == http.StatusUnauthorized && len(w.Header().Values("WWW-Authenticate")) == 0) {
			t.Fatalf("refusal answered %d %v", w.Code, w.Header())
		}
	})
}
