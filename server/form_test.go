package server

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
)

func TestForm_ParseMatchesURLParseQuery(t *testing.T) {
	tests := []string{
		"grant_type=client_credentials&scope=read",
		"a=1&&b=2",
		"scope=read+write",
		"state=%26%3D%23%2B+%E2%82%AC",
		"grant%5Ftype=authorization_code",
		"empty=&novalue",
		"",
		"x=%41%42%43",
	}
	for _, raw := range tests {
		t.Run(raw, func(t *testing.T) {
			want, err := url.ParseQuery(raw)
			if err != nil {
				t.Fatal(err)
			}
			f := &form{buf: []byte(raw)}
			if err := f.parse(f.buf, false); err != nil {
				t.Fatalf("parse: %v", err)
			}
			if len(f.params) != len(want) {
				t.Fatalf("got %d params, want %d", len(f.params), len(want))
			}
			for k, vs := range want {
				if got := f.Get(k); got != vs[0] {
					t.Fatalf("Get(%q) = %q, want %q", k, got, vs[0])
				}
			}
		})
	}
}

func TestForm_ParseRefusesMalformedInput(t *testing.T) {
	tests := []struct {
		name string
		raw  string
		want error
	}{
		{"repeated parameter", "scope=a&scope=b", errRepeatedParam},
		{"repeated parameter, once encoded", "scope=a&sc%6Fpe=b", errRepeatedParam},
		{"repeated empty parameter", "scope=&scope=", errRepeatedParam},
		{"truncated escape", "a=%4", errMalformedForm},
		{"bad escape digit", "a=%zz", errMalformedForm},
		{"escape at end of key", "a%=1", errMalformedForm},
		{"invalid UTF-8 value", "a=%ff%fe", errMalformedForm},
		{"invalid UTF-8 key", "%c3%28=1", errMalformedForm},
		{"semicolon separator", "a=1;b=2", errMalformedForm},
		{"too many parameters", manyParams(maxParams + 1), errTooManyParams},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := &form{buf: []byte(tt.raw)}
			if err := f.parse(f.buf, false); err != tt.want {
				t.Fatalf("parse(%q) = %v, want %v", tt.raw, err, tt.want)
			}
		})
	}
}

func manyParams(n int) string {
	var b strings.Builder
	for i := range n {
		if i > 0 {
			b.WriteByte('&')
		}
		b.WriteString("p")
		b.WriteString(strings.Repeat("x", i))
		b.WriteString("=1")
	}
	return b.String()
}

func TestForm_RepeatedAcrossBodyAndQueryIsRefused(t *testing.T) {
	r := httptest.NewRequest(http.MethodPost, "/token?scope=a", strings.NewReader("grant_type=client_credentials&scope=b"))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	f := getForm()
	defer putForm(f)
	if err := f.readTokenForm(httptest.NewRecorder(), r, DefaultMaxBodyBytes); err != errRepeatedParam {
		t.Fatalf("readTokenForm = %v, want errRepeatedParam", err)
	}
}

func TestForm_BodyLimit(t *testing.T) {
	tests := []struct {
		name    string
		chunked bool
	}{
		{"declared length over the limit", false},
		{"chunked body over the limit", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			body := "grant_type=client_credentials&scope=" + strings.Repeat("a", 100)
			r := httptest.NewRequest(http.MethodPost, "/token", strings.NewReader(body))
			r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			if tt.chunked {
				r.ContentLength = -1
			}
			f := getForm()
			defer putForm(f)
			if err := f.readTokenForm(httptest.NewRecorder(), r, 64); err != errBodyTooLarge {
				t.Fatalf("readTokenForm = %v, want errBodyTooLarge", err)
			}
		})
	}
}

func TestIsFormContentType(t *testing.T) {
	tests := map[string]bool{
		"application/x-www-form-urlencoded":                 true,
		"Application/X-WWW-Form-Urlencoded":                 true,
		"application/x-www-form-urlencoded; charset=UTF-8":  true,
		" application/x-www-form-urlencoded ;charset=utf-8": true,
		"application/json":                                  false,
		"":                                                  false,
		"application/x-www-form-urlencodedx":                false,
		"multipart/form-data; boundary=xyz":                 false,
		"text/plain; application/x-www-form-url":            false,
	}
	for ct, want := range tests {
		if got := isFormContentType(ct); got != want {
			t.Errorf("isFormContentType(%q) = %v, want %v", ct, got, want)
		}
	}
}
