package secret

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

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

func TestCheckAndVerify_RefuseNonCanonicalHashes(t *testing.T) {
	bc, err := bcrypt.GenerateFromPassword([]byte("pw"), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct{ name, hash string }{
		{"bcrypt minor version x", "$2x$" + string(bc)[4:]},
		{"bcrypt without minor version", "$2$" + string(bc)[4:]},
		{"trailing text after the version", "$argon2id$v=19abc$m=64,t=1,p=1$MDEyMzQ1Njc4OWFiY2RlZg$a2V5a2V5a2V5a2V5a2V5a2V5"},
		{"trailing text after a parameter", "$argon2id$v=19$m=64,t=1,p=1A$MDEyMzQ1Njc4OWFiY2RlZg$a2V5a2V5a2V5a2V5a2V5a2V5"},
		{"an extra parameter", "$argon2id$v=19$m=64,t=1,p=1,data=x$MDEyMzQ1Njc4OWFiY2RlZg$a2V5a2V5a2V5a2V5a2V5a2V5"},
		{"memory below 8*p KiB (RFC 9106 3.1)", "$argon2id$v=19$m=1,t=1,p=1$MDEyMzQ1Njc4OWFiY2RlZg$a2V5a2V5a2V5a2V5a2V5a2V5"},
		{"line break in the salt", "$argon2id$v=19$m=64,t=1,p=1$MDEy\nMzQ1Njc4OWFiY2RlZg$a2V5a2V5a2V5a2V5a2V5a2V5"},
		{"bcrypt cost above the bound", "$2a$31$" + string(bc)[7:]},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := Check(tt.hash); err == nil {
				t.Errorf("Check(%q) = nil, want an error", tt.hash)
			}
			if Verify(tt.hash, "pw") {
				t.Errorf("Verify(%q) = true for a hash Check refuses", tt.hash)
			}
		})
	}
}

func TestVerifyContext_BusyWhenEveryTurnIsTakenThenWorksAgain(t *testing.T) {
	h := cheapArgon("pw")
	// Take every turn, as that many concurrent verifications would.
	for range cap(turns) {
		turns <- struct{}{}
	}
	defer func() {
		for len(turns) > 0 {
			<-turns
		}
	}()
	maxWait = 20 * time.Millisecond
	defer func() { maxWait = MaxWait }()
	if ok, err := VerifyContext(context.Background(), h, "wrong"); ok || !errors.Is(err, ErrBusy) {
		t.Fatalf("no turn: %v, %v; want ErrBusy", ok, err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := VerifyContext(ctx, h, "wrong"); !errors.Is(err, context.Canceled) {
		t.Fatalf("canceled: %v", err)
	}
	if err := VerifyMissingContext(context.Background(), "pw"); !errors.Is(err, ErrBusy) {
		t.Fatalf("VerifyMissingContext: %v", err)
	}
	// Verify, for library callers, waits instead of answering wrongly.
	done := make(chan bool)
	go func() { done <- Verify(h, "pw") }()
	select {
	case <-done:
		t.Fatal("Verify answered without a turn")
	case <-time.After(50 * time.Millisecond):
	}
	<-turns
	if !<-done {
		t.Fatal("Verify refused the right password")
	}
	if ok, err := VerifyContext(context.Background(), h, "pw"); !ok || err != nil {
		t.Fatalf("right password, from the cache: %v %v", ok, err)
	}
}

// Hashes of the test cost verify and pass Check, as hashes of the default
// cost made before; the cost is in the hash, so each verifies at its own.
func TestUseTestCost_HashesVerifyWhateverTheirCost(t *testing.T) {
	before, err := Hash("pw")
	if err != nil {
		t.Fatal(err)
	}
	saved := newCost
	t.Cleanup(func() { newCost = saved })
	UseTestCost()
	cheap, err := Hash("pw")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(before, "$m=65536,t=3,p=1$") || !strings.Contains(cheap, "$m=1024,t=1,p=1$") {
		t.Fatalf("costs %q and %q, want the default then the test cost", before, cheap)
	}
	for _, h := range []string{before, cheap} {
		if Check(h) != nil || !Verify(h, "pw") || Verify(h, "other") {
			t.Fatalf("hash %q does not verify exactly its password", h)
		}
	}
}
