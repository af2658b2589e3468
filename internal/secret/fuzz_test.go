package secret

import (
	"fmt"
	"regexp"
	"strings"
	"sync"
	"testing"

	"golang.org/x/crypto/argon2"
	"golang.org/x/crypto/bcrypt"
)

// Bounds that Check must enforce on argon2id parameters before Verify runs
// them: a hash from a configuration file or a client store must not make a
// login allocate more than 4 GiB or take more than 64 passes, and m must be
// at least 8*p KiB (RFC 9106 3.1).
const (
	maxArgonMemoryKiB = 4 * 1024 * 1024
	maxArgonPasses    = 64
)

// fuzzPassword is the password of the cheap hashes below.
const fuzzPassword = "correct horse battery staple"

// cheapArgon returns an argon2id PHC string of password with parameters
// small enough to verify thousands of times a second (m=64 KiB, t=1).
func cheapArgon(password string) string {
	salt := []byte("0123456789abcdef")
	key := argon2.IDKey([]byte(password), salt, 1, 64, 1, 32)
	return fmt.Sprintf("$argon2id$v=%d$m=64,t=1,p=1$%s$%s", argon2.Version, b64.EncodeToString(salt), b64.EncodeToString(key))
}

var cheapBcrypt = sync.OnceValue(func() string {
	h, err := bcrypt.GenerateFromPassword([]byte(fuzzPassword), bcrypt.MinCost)
	if err != nil {
		panic(err)
	}
	return string(h)
})

// argonPHC is the canonical argon2id PHC string (RFC 9106, with the
// parameter segment of the PHC string format): Check must not accept
// trailing text after a number, or the optional keyid and data
// parameters, which it would ignore.
var argonPHC = regexp.MustCompile(`^\$argon2id\$v=19\$m=([0-9]+),t=([0-9]+),p=([0-9]+)\$[A-Za-z0-9+/]*\$[A-Za-z0-9+/]+$`)

// verifyIsCheap reports whether Verify(hash, …) may be called from a fuzz
// target: a parameter set that Check accepts may still cost up to 4 GiB
// and 64 passes, or 2^31 bcrypt rounds, which a fuzz run must not spend.
func verifyIsCheap(hash string) bool {
	if strings.HasPrefix(hash, "$2") {
		cost, err := bcrypt.Cost([]byte(hash))
		return err != nil || cost <= bcrypt.MinCost+1
	}
	if strings.HasPrefix(hash, "$argon2id$") {
		p, _, _, err := parseArgon(hash)
		return err != nil || (uint64(p.memory)*uint64(p.time) <= 1<<12 && p.threads <= 4)
	}
	return true
}

// FuzzCheck_RejectsWhatVerifyWouldNotHonour checks Check and Verify on any
// hash string: neither panics; Verify is false for every hash Check
// rejects; an argon2id hash that Check accepts is canonical and within the
// memory and time bounds; Verify of a hash Check accepts never succeeds
// with a password other than the one it was made from.
func FuzzCheck_RejectsWhatVerifyWouldNotHonour(f *testing.F) {
	good := cheapArgon(fuzzPassword)
	for _, seed := range []struct{ hash, password string }{
		{good, fuzzPassword},
		{good, "wrong"},
		{cheapBcrypt(), fuzzPassword},
		{cheapBcrypt(), ""},
		{"$argon2id$v=19$m=65536,t=3,p=1$c2FsdHNhbHRzYWx0c2FsdA$a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2U", "x"},
		{"", ""},
		{"$argon2id$", "x"},
		{"$argon2id$v=19$m=65536,t=3,p=1$", "x"},
		{"$argon2id$v=18$m=64,t=1,p=1$MDEyMzQ1Njc4OWFiY2RlZg$a2V5a2V5a2V5a2V5a2V5a2V5", "x"},
		{"$argon2id$v=19$m=0,t=1,p=1$MDEyMzQ1Njc4OWFiY2RlZg$a2V5a2V5a2V5a2V5a2V5a2V5", "x"},
		{"$argon2id$v=19$m=4194305,t=1,p=1$MDEyMzQ1Njc4OWFiY2RlZg$a2V5a2V5a2V5a2V5a2V5a2V5", "x"},
		{"$argon2id$v=19$m=4294967295,t=4294967295,p=255$MDEyMzQ1Njc4OWFiY2RlZg$a2V5a2V5a2V5a2V5a2V5a2V5", "x"},
		{"$argon2id$v=19$m=4194304,t=65,p=1$MDEyMzQ1Njc4OWFiY2RlZg$a2V5a2V5a2V5a2V5a2V5a2V5", "x"},
		{"$argon2id$v=19$m=64,t=1,p=256$MDEyMzQ1Njc4OWFiY2RlZg$a2V5a2V5a2V5a2V5a2V5a2V5", "x"},
		{"$argon2id$v=19$m=64,t=1,p=0$MDEyMzQ1Njc4OWFiY2RlZg$a2V5a2V5a2V5a2V5a2V5a2V5", "x"},
		{"$argon2id$v=19$m=-64,t=1,p=1$MDEyMzQ1Njc4OWFiY2RlZg$a2V5a2V5a2V5a2V5a2V5a2V5", "x"},
		{"$argon2id$v=19$m=64,t=1,p=1$MDEyMzQ1Njc4OWFiY2RlZg$a2V5", "x"},
		{"$argon2id$v=19$m=64,t=1,p=1$MDEy!!$a2V5a2V5a2V5a2V5a2V5a2V5", "x"},
		{"$argon2id$v=19$m=64,t=1,p=1$MDEyMzQ1Njc4OWFiY2RlZg$a2V5a2V5a2V5a2V5a2V5a2V5$extra", "x"},
		{"$argon2i$v=19$m=64,t=1,p=1$MDEyMzQ1Njc4OWFiY2RlZg$a2V5a2V5a2V5a2V5a2V5a2V5", "x"},
		{"$2a$31$" + cheapBcrypt()[7:], "x"},
		{"$2a$03$" + cheapBcrypt()[7:], "x"},
		{"$2a$", "x"},
		{"$2y$04$short", "x"},
		{"plain:" + fuzzPassword, fuzzPassword},
	} {
		f.Add(seed.hash, seed.password)
	}
	f.Fuzz(func(t *testing.T, hash, password string) {
		checkErr := Check(hash)
		if checkErr == nil && strings.HasPrefix(hash, "$argon2id$") {
			m := argonPHC.FindStringSubmatch(hash)
			if m == nil {
				t.Fatalf("Check accepted %q, which is not a canonical argon2id PHC string", hash)
			}
			p, _, key, err := parseArgon(hash)
			if err != nil {
				t.Fatalf("Check accepted %q but parseArgon refuses it: %v", hash, err)
			}
			if p.memory > maxArgonMemoryKiB || p.time == 0 || p.time > maxArgonPasses || p.threads == 0 {
				t.Fatalf("Check accepted %q: m=%d t=%d p=%d out of bounds", hash, p.memory, p.time, p.threads)
			}
			if p.memory < 8*uint32(p.threads) {
				t.Fatalf("Check accepted %q: m=%d below 8*p=%d KiB (RFC 9106 3.1)", hash, p.memory, 8*uint32(p.threads))
			}
			if len(key) < 16 || len(key) > 128 {
				t.Fatalf("Check accepted %q with a %d-byte key", hash, len(key))
			}
		}
		if !verifyIsCheap(hash) {
			return
		}
		ok := Verify(hash, password)
		if ok && checkErr != nil {
			t.Fatalf("Verify(%q, …) = true for a hash Check rejects (%v)", hash, checkErr)
		}
		// A hash of fuzzPassword verifies nothing else, before and after
		// the right password has been cached.
		if ok && (hash == good || hash == cheapBcrypt()) && password != fuzzPassword {
			t.Fatalf("Verify accepted a wrong password %q", password)
		}
	})
}

// FuzzVerify_AcceptsOnlyThePassword checks Verify against real argon2id and
// bcrypt hashes of one password, whatever password is offered, and that the
// cache of verified passwords never lets another through.
func FuzzVerify_AcceptsOnlyThePassword(f *testing.F) {
	argonHash := cheapArgon(fuzzPassword)
	for _, pw := range []string{fuzzPassword, "", "correct horse battery stapl", fuzzPassword + "\x00", strings.ToUpper(fuzzPassword), "\xff\xfe", strings.Repeat("a", 100)} {
		f.Add(pw)
	}
	f.Fuzz(func(t *testing.T, password string) {
		want := password == fuzzPassword
		for _, hash := range []string{argonHash, cheapBcrypt()} {
			if got := Verify(hash, password); got != want {
				t.Fatalf("Verify(%q, %q) = %v, want %v", hash[:10], password, got, want)
			}
			// The right password is now cached; the offered one is still
			// judged on its own.
			if !Verify(hash, fuzzPassword) {
				t.Fatal("Verify refused the right password")
			}
			if got := Verify(hash, password); got != want {
				t.Fatalf("after caching, Verify(%q, %q) = %v, want %v", hash[:10], password, got, want)
			}
		}
		if Equal(password, fuzzPassword) != want {
			t.Fatalf("Equal(%q, fuzzPassword) = %v, want %v", password, !want, want)
		}
	})
}
