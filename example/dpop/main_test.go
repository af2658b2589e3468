package main

import (
	"context"
	"net/http/httptest"
	"strings"
	"testing"
)

// TestDPoPExample runs the example's server and client over real HTTP: the
// token is a DPoP token, the resource takes it with a proof and refuses it
// as a bearer token.
func TestDPoPExample(t *testing.T) {
	ts := httptest.NewUnstartedServer(nil)
	issuer := "http://" + ts.Listener.Addr().String()
	ts.Config.Handler = newServer(issuer)
	ts.Start()
	t.Cleanup(ts.Close)
	out, err := runClient(context.Background(), issuer)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"token_type DPoP\n",
		"with a proof: 200 hello 000000, your token is bound to your key\n",
		`as a bearer token: 401 Bearer error="invalid_token"`,
	} {
		if !strings.Contains(out, want) {
			t.Fatalf("output %q lacks %q", out, want)
		}
	}
}
