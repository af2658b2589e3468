package secret

import (
	"testing"

	"golang.org/x/crypto/bcrypt"
)

func TestVerify_AcceptsRightAndRefusesWrongPassword(t *testing.T) {
	argon, err := Hash("s3cret")
	if err != nil {
		t.Fatal(err)
	}
	bc, err := bcrypt.GenerateFromPassword([]byte("s3cret"), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, hash, password string
		want                 bool
	}{
		{"argon2id right", argon, "s3cret", true},
		{"argon2id right again (cached)", argon, "s3cret", true},
		{"argon2id wrong after cache", argon, "s3cret!", false},
		{"argon2id empty", argon, "", false},
		{"bcrypt right", string(bc), "s3cret", true},
		{"bcrypt wrong", string(bc), "nope", false},
		{"unknown format", "plain:s3cret", "s3cret", false},
		{"truncated argon2id", "$argon2id$v=19$m=65536,t=3,p=1$", "s3cret", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Verify(tt.hash, tt.password); got != tt.want {
				t.Fatalf("Verify = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestCheck_RejectsMalformedHashes(t *testing.T) {
	good, _ := Hash("x")
	if err := Check(good); err != nil {
		t.Fatalf("Check(good) = %v", err)
	}
	for _, bad := range []string{"", "999999", "$argon2id$v=19$m=0,t=3,p=1$c2FsdA$a2V5", "$argon2i$v=19$m=65536,t=3,p=1$c2FsdA$a2V5", "$2a$xx"} {
		if err := Check(bad); err == nil {
			t.Errorf("Check(%q) = nil, want error", bad)
		}
	}
}

func TestEqualAndVerifyMissing(t *testing.T) {
	if !Equal("abc", "abc") || Equal("abc", "abd") || Equal("abc", "abcd") {
		t.Fatal("Equal is wrong")
	}
	if VerifyMissing("anything") {
		t.Fatal("VerifyMissing returned true")
	}
}
