package oauth2d

import (
	"strings"
	"testing"
)

// Inputs the fuzz targets found: each once showed the password in a log line
// or an error.
func TestRedactStore_HidesPasswordsFoundByFuzzing(t *testing.T) {
	tests := []struct{ name, store, password string }{
		{"mysql scheme in another case", "MySQL:root:P4ssWord@tcp(h)/db", "P4ssWord"},
		{"mariadb driver DSN", "mariadb:root:P4ssWord@tcp(h)/db", "P4ssWord"},
		{"driver DSN with a password holding '?'", "mysql:root:P4?ss@tcp(h)/db", "P4?ss"},
		{"driver DSN password parameter", "mysql:root@tcp(h)/db?password=P4ssWord", "P4ssWord"},
		{"query pair with a semicolon", "postgres://u@h/db?password=P4ssWord;x", "P4ssWord"},
		{"query pair with a bad escape", "postgres://u@h/db?sslpassword=P4ssWord%zz", "P4ssWord"},
		{"URL userinfo", "redis://:P4ssWord@h:6379/0", "P4ssWord"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := RedactStore(tt.store); strings.Contains(got, tt.password) {
				t.Fatalf("RedactStore(%q) = %q shows the password", tt.store, got)
			}
		})
	}
}

func TestParseConfig_ErrorHidesValueWithBackticks(t *testing.T) {
	_, err := ParseConfig([]byte("clients:\n  - id: a\n    secret: !!float Sec`ret12Ab\n"))
	if err == nil {
		t.Fatal("a float-tagged secret parsed")
	}
	if strings.Contains(err.Error(), "ret12Ab") {
		t.Fatalf("error %q shows part of the secret", err)
	}
}

func TestValidate_IssuerWithoutHostNameIsRefused(t *testing.T) {
	cfg := Default()
	cfg.Issuer = "http://:80"
	err := cfg.Validate()
	if err == nil || !strings.Contains(err.Error(), "issuer") {
		t.Fatalf("Validate = %v, want an error naming the issuer", err)
	}
}
