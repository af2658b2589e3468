package server

import (
	"encoding/base64"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

func basicHeader(id, secret string) string {
	return "Basic " + base64.StdEncoding.EncodeToString([]byte(url.QueryEscape(id)+":"+url.QueryEscape(secret)))
}

func TestParseBasicAuth(t *testing.T) {
	tests := []struct {
		name       string
		header     []string
		wantID     string
		wantSecret string
		wantErr    bool
	}{
		{"absent", nil, "", "", false},
		{"plain", []string{basicHeader("000000", "999999")}, "000000", "999999", false},
		{"scheme is case-insensitive", []string{"bAsIc " + base64.StdEncoding.EncodeToString([]byte("a:b"))}, "a", "b", false},
		{"form-decoded ID and secret (RFC 6749 2.3.1)", []string{basicHeader("id with:colon", "s e+c%r&t")}, "id with:colon", "s e+c%r&t", false},
		{"plus is a space", []string{"Basic " + base64.StdEncoding.EncodeToString([]byte("a+b:c+d"))}, "a b", "c d", false},
		{"split at the first colon", []string{"Basic " + base64.StdEncoding.EncodeToString([]byte("a:b:c"))}, "a", "b:c", false},
		{"empty secret", []string{"Basic " + base64.StdEncoding.EncodeToString([]byte("pub:"))}, "pub", "", false},
		{"extra spaces around the token", []string{"Basic   " + base64.StdEncoding.EncodeToString([]byte("a:b")) + " "}, "a", "b", false},
		{"other scheme", []string{"Bearer abc"}, "", "", true},
		{"scheme only", []string{"Basic"}, "", "", true},
		{"scheme and space", []string{"Basic "}, "", "", true},
		{"no space after scheme", []string{"BasicYTpi"}, "", "", true},
		{"not base64", []string{"Basic !!!"}, "", "", true},
		{"unpadded base64", []string{"Basic " + base64.RawStdEncoding.EncodeToString([]byte("ab:c"))}, "", "", true},
		{"no colon", []string{"Basic " + base64.StdEncoding.EncodeToString([]byte("abc"))}, "", "", true},
		{"empty ID", []string{"Basic " + base64.StdEncoding.EncodeToString([]byte(":secret"))}, "", "", true},
		{"bad escape", []string{"Basic " + base64.StdEncoding.EncodeToString([]byte("a%zz:b"))}, "", "", true},
		{"invalid UTF-8 secret", []string{"Basic " + base64.StdEncoding.EncodeToString([]byte("a:%ff"))}, "", "", true},
		{"two headers", []string{basicHeader("a", "b"), basicHeader("a", "b")}, "", "", true},
		{"long credentials", []string{basicHeader(strings.Repeat("i", 300), strings.Repeat("s", 300))}, strings.Repeat("i", 300), strings.Repeat("s", 300), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := http.Header{}
			if tt.header != nil {
				h["Authorization"] = tt.header
			}
			id, sec, present, err := parseBasicAuth(h)
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, wantErr %v", err, tt.wantErr)
			}
			if present != (tt.header != nil) {
				t.Fatalf("present = %v", present)
			}
			if id != tt.wantID || sec != tt.wantSecret {
				t.Fatalf("got (%q, %q), want (%q, %q)", id, sec, tt.wantID, tt.wantSecret)
			}
			if err != nil && (strings.Contains(err.Error(), "secret") && tt.wantSecret != "") {
				t.Fatalf("error text mentions the secret: %v", err)
			}
		})
	}
}

func FuzzBasicAuthHeader(f *testing.F) {
	f.Add(basicHeader("000000", "999999"))
	f.Add(basicHeader("a:b", "%+ "))
	f.Add("Basic ")
	f.Add("basic YTpi")
	f.Add("Basic YTpi\r\n")
	f.Add("Basic " + base64.StdEncoding.EncodeToString([]byte("%ff:%00")))
	f.Add("Bearer x")
	f.Fuzz(func(t *testing.T, header string) {
		h := http.Header{"Authorization": {header}}
		id, sec, present, err := parseBasicAuth(h)
		if header == "" {
			if present || err != nil {
				t.Fatal("empty header reported present")
			}
			return
		}
		if !present {
			t.Fatal("non-empty header reported absent")
		}
		if err != nil {
			if id != "" || sec != "" {
				t.Fatal("credentials returned with an error")
			}
			if err != errClientAuth {
				t.Fatalf("error %v is not invalid_client", err)
			}
			return
		}
		if id == "" {
			t.Fatal("empty client ID accepted")
		}
		// Re-encoding the result must parse back to the same credentials.
		id2, sec2, _, err2 := parseBasicAuth(http.Header{"Authorization": {basicHeader(id, sec)}})
		if err2 != nil || id2 != id || sec2 != sec {
			t.Fatalf("round trip of (%q, %q) gave (%q, %q, %v)", id, sec, id2, sec2, err2)
		}
	})
}

func TestParseBearer(t *testing.T) {
	tests := []struct {
		header string
		want   string
		ok     bool
	}{
		{"Bearer abc.DEF-123_~+/==", "abc.DEF-123_~+/==", true},
		{"bearer abc", "abc", true},
		{"BEARER  abc ", "abc", true},
		{"Bearer", "", false},
		{"Bearer ", "", false},
		{"Bearerabc", "", false},
		{"Basic abc", "", false},
		{"Bearer a b", "", false},
		{"Bearer =abc", "", false},
		{"Bearer ab=c", "", false},
	}
	for _, tt := range tests {
		got, ok := parseBearer(tt.header)
		if got != tt.want || ok != tt.ok {
			t.Errorf("parseBearer(%q) = (%q, %v), want (%q, %v)", tt.header, got, ok, tt.want, tt.ok)
		}
	}
}
