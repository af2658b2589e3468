package apidiff_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// packages are the package names an apidiff line may start with.
var packages = map[string]bool{"errors": true, "generates": true, "manage": true, "models": true, "server": true, "store": true}

// mustName returns the names MIGRATING.md must mention, together in one
// paragraph, for the subject of one apidiff line ("./generates.(*JWTAccessGenerate).Token",
// "TokenStore.RotateRefresh", "package .../utils/uuid", ...).
func mustName(subject string) []string {
	if p, ok := strings.CutPrefix(subject, "package github.com/oauth2d/oauth2/"); ok {
		return []string{p}
	}
	if m, owner, ok := strings.Cut(subject, ", method set of *"); ok {
		// An embedded type's method, promoted to owner.
		return append(mustName(m), owner)
	}
	subject = strings.TrimPrefix(subject, "./")
	r := strings.NewReplacer("(*", "", ")", "")
	parts := strings.Split(r.Replace(subject), ".")
	if len(parts) == 2 && packages[parts[0]] {
		return []string{subject}
	}
	if packages[parts[0]] || parts[0] == "sync" {
		parts = parts[1:]
	}
	return parts
}

// TestMigratingNamesEveryIncompatibleChange: every incompatible change of
// the apidiff reports is named in MIGRATING.md, so that a user reading it
// finds each difference with its reason.
func TestMigratingNamesEveryIncompatibleChange(t *testing.T) {
	doc, err := os.ReadFile("../../MIGRATING.md")
	if err != nil {
		t.Fatal(err)
	}
	paragraphs := strings.Split(string(doc), "\n\n")
	for _, report := range []string{"v3.9.2.txt", "v4.5.4.txt"} {
		data, err := os.ReadFile(report)
		if err != nil {
			t.Fatal(err)
		}
		_, rest, ok := strings.Cut(string(data), "Incompatible changes:\n")
		if !ok {
			t.Fatalf("%s has no incompatible changes section", report)
		}
		incompatible, _, _ := strings.Cut(rest, "Compatible changes:")
		n := 0
		for _, line := range strings.Split(incompatible, "\n") {
			subject, ok := strings.CutPrefix(line, "- ")
			if !ok {
				continue
			}
			subject, _, _ = strings.Cut(subject, ": ")
			names := mustName(subject)
			found := false
			for _, p := range paragraphs {
				all := true
				for _, name := range names {
					all = all && strings.Contains(p, name)
				}
				if all {
					found = true
					break
				}
			}
			if !found {
				t.Errorf("%s: MIGRATING.md has no paragraph naming %s (%q)", report, strings.Join(names, " and "), line)
			}
			n++
		}
		if n == 0 {
			t.Fatalf("%s lists no incompatible change", report)
		}
	}
}

func TestMustName(t *testing.T) {
	tests := map[string]string{
		"./generates.(*JWTAccessGenerate).Token":              "JWTAccessGenerate Token",
		"./generates.NewJWTAccessGenerate":                    "generates.NewJWTAccessGenerate",
		"TokenStore.RotateRefresh":                            "TokenStore RotateRefresh",
		"./store.ClientStore.RWMutex":                         "ClientStore RWMutex",
		"sync.(*RWMutex).TryLock, method set of *ClientStore": "RWMutex TryLock ClientStore",
		"package github.com/oauth2d/oauth2/utils/uuid":        "utils/uuid",
		"TokenGenerateRequest":                                "TokenGenerateRequest",
	}
	for subject, want := range tests {
		if got := strings.Join(mustName(subject), " "); got != want {
			t.Errorf("mustName(%q) = %q, want %q", subject, got, want)
		}
	}
}

// TestReportsAreCurrent runs refresh.sh into a temporary directory and
// compares the incompatible changes of its reports with the kept ones, so
// that an API change MIGRATING.md does not account for fails here. Added
// names are compatible and need no entry: a change that only adds API does
// not fail it (refresh.sh brings the kept reports up to date). It needs
// bash and the Go module proxy, as refresh.sh does.
func TestReportsAreCurrent(t *testing.T) {
	out := t.TempDir()
	cmd := exec.Command("bash", "refresh.sh")
	cmd.Env = append(os.Environ(), "APIDIFF_OUT="+out)
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("refresh.sh: %v\n%s", err, b)
	}
	for _, report := range []string{"v3.9.2.txt", "v4.5.4.txt"} {
		kept, err := os.ReadFile(report)
		if err != nil {
			t.Fatal(err)
		}
		fresh, err := os.ReadFile(filepath.Join(out, report))
		if err != nil {
			t.Fatal(err)
		}
		if k, f := incompatibleSection(string(kept)), incompatibleSection(string(fresh)); k != f {
			t.Errorf("compat/apidiff/%s is out of date: run compat/apidiff/refresh.sh and account in MIGRATING.md for what changed:\n%s",
				report, lineDiff(k, f))
		}
	}
}

// lineDiff lists the lines only one of a and b has.
func lineDiff(a, b string) string {
	in := func(s string) map[string]bool {
		m := map[string]bool{}
		for _, l := range strings.Split(s, "\n") {
			m[l] = true
		}
		return m
	}
	ina, inb := in(a), in(b)
	var d []string
	for _, l := range strings.Split(a, "\n") {
		if !inb[l] {
			d = append(d, "kept only:  "+l)
		}
	}
	for _, l := range strings.Split(b, "\n") {
		if !ina[l] {
			d = append(d, "fresh only: "+l)
		}
	}
	return strings.Join(d, "\n")
}

// incompatibleSection returns the "Incompatible changes" lines of a report.
func incompatibleSection(report string) string {
	_, rest, _ := strings.Cut(report, "Incompatible changes:\n")
	section, _, _ := strings.Cut(rest, "Compatible changes:")
	return section
}
