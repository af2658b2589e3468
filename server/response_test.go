package server

import (
	"bytes"
	"encoding/json"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/oauth2d/oauth2/models"
)

func TestAppendJSONString_MatchesEncodingJSON(t *testing.T) {
	tests := []string{
		"", "plain", `quote " and \ backslash`, "<script>&amp;</script>",
		"ctl \x00\x01\x1f \b\f\n\r\t", "line\u2028sep\u2029", "bad \xff utf8 \xc3(",
		"émoji 😀", "\x7f del",
	}
	for _, s := range tests {
		want, _ := json.Marshal(s)
		if got := appendJSONString(nil, s); !bytes.Equal(got, want) {
			t.Errorf("appendJSONString(%q) = %s, want %s", s, got, want)
		}
	}
}

func FuzzAppendJSONString(f *testing.F) {
	f.Add("a\"<>&\u2028\xff")
	f.Fuzz(func(t *testing.T, s string) {
		want, _ := json.Marshal(s)
		got := appendJSONString(nil, s)
		if !bytes.Equal(got, want) {
			t.Fatalf("appendJSONString(%q) = %s, want %s", s, got, want)
		}
		if !utf8.Valid(got) {
			t.Fatal("invalid UTF-8 output")
		}
	})
}

func TestAppendTokenJSON_SameBytesAsGetTokenData(t *testing.T) {
	s := NewServer(nil, nil)
	tests := []*models.Token{
		{Access: "acc", AccessExpiresIn: 2 * time.Hour, Scope: "read", Refresh: "ref"},
		{Access: "acc", AccessExpiresIn: 2 * time.Hour},
		{Access: "a<b>", Scope: "x&y"},
		{Access: "acc", AccessExpiresIn: 1500 * time.Millisecond, Refresh: "r"},
	}
	for _, idToken := range []string{"", "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJhIn0.c2ln"} {
		for _, ti := range tests {
			data := s.GetTokenData(ti)
			if idToken != "" {
				data["id_token"] = idToken
			}
			var want bytes.Buffer
			if err := json.NewEncoder(&want).Encode(data); err != nil {
				t.Fatal(err)
			}
			got := appendTokenJSON(nil, ti, "Bearer", idToken)
			if !bytes.Equal(got, want.Bytes()) {
				t.Errorf("fast path %s\nencoding/json %s", got, want.Bytes())
			}
		}
	}
}
