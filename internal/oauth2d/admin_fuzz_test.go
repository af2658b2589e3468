package oauth2d

import (
	"bytes"
	"strings"
	"testing"
)

// FuzzAdminDecode feeds the admin API's JSON decoder every request body
// it reads: it never panics, refuses what is not one JSON object of the
// known fields, and its errors never quote the body.
func FuzzAdminDecode(f *testing.F) {
	for _, s := range []string{
		`{"client_id":"a","redirect_uris":["https://a.example/cb"],"client_secret":"s3cr3t-s3cr3t-s3"}`,
		`{"username":"u","password":"p","claims":{"email":"u@example.com"}}`,
		`{"delay":"10m"}`, `{"colour":1}`, `{} {}`, `[`, `"x"`, `{"scope":7}`, ``,
	} {
		f.Add([]byte(s))
	}
	cfg := Default()
	f.Fuzz(func(t *testing.T, body []byte) {
		var cr clientRequest
		if err := decodeJSON(bytes.NewReader(body), &cr); err != nil {
			if len(body) > 12 && strings.Contains(err.Error(), string(body)) {
				t.Fatalf("the error quotes the body: %v", err)
			}
		} else {
			d := &clientDoc{clientMetadata: cr.clientMetadata}
			_ = cfg.validateManagedClient(d)
		}
		var ur userRequest
		if err := decodeJSON(bytes.NewReader(body), &ur); err == nil {
			var ps problems
			validateUsername(&ps, "username", ur.Username)
			validateClaims(&ps, "claims", ur.Claims)
		}
	})
}
