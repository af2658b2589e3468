package v4_test

import (
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// v4TestFiles are the test files of go-oauth2 v4.5.4, relative to its
// module root. Together they hold 21 test functions.
var v4TestFiles = []string{
	"const_test.go",
	"generates/access_test.go",
	"generates/authorize_test.go",
	"generates/jwt_access_test.go",
	"manage/manage_test.go",
	"manage/util_test.go",
	"server/handler_test.go",
	"server/server_test.go",
	"store/client_test.go",
	"store/token_test.go",
}

// failure says why a v4 test fails with its import paths rewritten alone,
// and whether the cause is one of the security defaults of MIGRATING.md
// section 5 (docs/architecture.md): the old behaviour is never the
// default, so such a test needs the documented edit.
type failure struct {
	security bool
	why      string
}

// importsOnly lists the tests that fail with imports rewritten alone. Every
// other v4 test must pass that way. A test listed here that starts passing
// fails this test too, so that the list stays exact.
var importsOnly = map[string]failure{
	"TestJWTAccess": {false, "does not compile: NewJWTAccessGenerate keeps go-oauth2 v3's (key, method) arguments, " +
		"which the seed's JWT example uses, where v4 had (kid, key, method); one function cannot take both"},
	"TestTokenStore": {false, "after a removal or expiry GetBy* return an error wrapping oauth2.ErrNotFound where v4 returned nil, nil: " +
		"the storage contract every store and store/storetest follow, which fails closed and tells an unknown key from a replayed one"},
	"TestManager": {true, "a refresh request carries no client (a refresh token is bound to its client, RFC 6749 6) " +
		"and asks for scope owner, wider than the grant's all (RFC 6749 6)"},
	"TestAccessTokenDefaultHandler": {true, "AccessTokenDefaultResolveHandler reads the Authorization header only; " +
		"a bearer token in a form body needs Config.AllowBearerFromForm (RFC 6750 2.2, RFC 9700 2.4)"},
	"TestAuthorizeCode": {true, "a public client without PKCE (RFC 9700 2.1.1), and sending a secret it does not have"},
	"TestAuthorizeCodeWithChallengePlain": {true, "PKCE plain is off by default (RFC 9700 2.1.1), " +
		"and the token request sends code twice (RFC 6749 3.2: parameters must not be repeated)"},
	"TestAuthorizeCodeWithChallengeS256": {true, "the token request sends code twice (RFC 6749 3.2: parameters must not be repeated)"},
	"TestPasswordCredentials":            {true, "the password grant is off by default (RFC 9700 2.4)"},
	"TestRefreshing": {true, "a public client without PKCE sending a secret it does not have, " +
		"and a refresh asking for scope one, wider than the grant's all (RFC 6749 6)"},
}

// v4Test is one test function of go-oauth2 v4.5.4 and the package it runs
// in.
type v4Test struct {
	name, file, pkg string
}

// layout places each v4 test file: an external test package gets a
// directory of its own in the temporary module (so that one file that does
// not compile does not stop the others of its v4 package from running); an
// internal one (package server) joins this module's package through an
// overlay. It returns the directory and the import path of the package.
func layout(t *testing.T, rel string, data []byte) (dir, pkg string) {
	t.Helper()
	name := path.Base(rel)
	if p := packageOf(t, rel, data); !strings.HasSuffix(p, "_test") {
		dir = path.Dir(rel)
		return dir, ourPath + "/" + dir
	}
	base := strings.TrimSuffix(name, "_test.go")
	if path.Dir(rel) == "." {
		dir = "root/" + base
	} else {
		dir = path.Dir(rel) + "/" + base
	}
	return dir, tempPath + "/" + dir
}

// testFuncs returns the names of the test functions of a Go file.
func testFuncs(t *testing.T, name string, data []byte) []string {
	t.Helper()
	f, err := parser.ParseFile(token.NewFileSet(), name, data, 0)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, d := range f.Decls {
		if fn, ok := d.(*ast.FuncDecl); ok && fn.Recv == nil && strings.HasPrefix(fn.Name.Name, "Test") {
			names = append(names, fn.Name.Name)
		}
	}
	return names
}

// TestGoOAuth2V4Suite runs go-oauth2 v4.5.4's own tests against this
// module: with import paths rewritten alone, every test that touches no
// security default passes and the others fail for the reasons listed in
// importsOnly; with the documented edits of v4.5.4.patch, all 21 pass.
func TestGoOAuth2V4Suite(t *testing.T) {
	root := repoRoot(t)
	v4 := v4Dir(t)
	p := loadPatch(t, root)

	rewritten := map[string][]byte{}
	var tests []v4Test
	for _, rel := range v4TestFiles {
		src, err := os.ReadFile(filepath.Join(v4, filepath.FromSlash(rel)))
		if err != nil {
			t.Fatal(err)
		}
		out, err := rewriteImports(rel, src)
		if err != nil {
			t.Fatalf("%s: %v", rel, err)
		}
		rewritten[rel] = out
		_, pkg := layout(t, rel, out)
		for _, name := range testFuncs(t, rel, out) {
			tests = append(tests, v4Test{name: name, file: rel, pkg: pkg})
		}
	}
	if len(tests) != 21 {
		t.Fatalf("go-oauth2 %s has %d test functions, want 21", v4Version, len(tests))
	}
	for file := range p {
		if _, ok := rewritten[file]; !ok && !strings.HasPrefix(file, "example/") {
			t.Fatalf("v4.5.4.patch changes %s, which is not one of the test files", file)
		}
	}
	for name := range importsOnly {
		if !slices.ContainsFunc(tests, func(tt v4Test) bool { return tt.name == name }) {
			t.Fatalf("importsOnly lists %s, which go-oauth2 %s does not have", name, v4Version)
		}
	}

	run := func(t *testing.T, files map[string][]byte) map[string]*testResult {
		m := newTempModule(t, v4, root)
		want := map[string]string{}
		pkgs := map[string]bool{}
		for rel, data := range files {
			dir, pkg := layout(t, rel, data)
			m.add(t, dir, path.Base(rel), data)
			if strings.HasPrefix(pkg, tempPath) {
				pkgs["./"+dir] = true
			} else {
				pkgs[pkg] = true
			}
		}
		for _, tt := range tests {
			want[tt.name] = tt.pkg
		}
		var list []string
		for p := range pkgs {
			list = append(list, p)
		}
		slices.Sort(list)
		results := m.goTest(t, want, list...)
		byName := map[string]*testResult{}
		for _, tt := range tests {
			byName[tt.name] = results[tt.pkg+"."+tt.name]
		}
		return byName
	}

	t.Run("imports only", func(t *testing.T) {
		results := run(t, rewritten)
		passed := 0
		for _, tt := range tests {
			r := results[tt.name]
			f, listed := importsOnly[tt.name]
			switch {
			case r.passed && listed:
				t.Errorf("%s (%s) passes with imports rewritten alone: take it out of importsOnly", tt.name, tt.file)
			case !r.passed && !listed:
				t.Errorf("%s (%s) fails with imports rewritten alone, and touches no security default:\n%s", tt.name, tt.file, r.output.String())
			case !r.passed:
				kind := "security default"
				if !f.security {
					kind = "not a security default"
				}
				t.Logf("%s fails as expected (%s): %s", tt.name, kind, f.why)
			}
			if r.passed {
				passed++
			}
		}
		t.Logf("imports only: %d of %d go-oauth2 %s tests pass", passed, len(tests), v4Version)
	})

	t.Run("documented edits", func(t *testing.T) {
		edited := map[string][]byte{}
		for rel, data := range rewritten {
			hs, ok := p[rel]
			if !ok {
				edited[rel] = data
				continue
			}
			out, err := hunks(hs).apply(string(data))
			if err != nil {
				t.Fatalf("v4.5.4.patch does not apply to %s: %v", rel, err)
			}
			edited[rel] = []byte(out)
		}
		results := run(t, edited)
		passed := 0
		for _, tt := range tests {
			if r := results[tt.name]; r.passed {
				passed++
			} else {
				t.Errorf("%s (%s) fails with the documented edits:\n%s", tt.name, tt.file, r.output.String())
			}
		}
		t.Logf("with v4.5.4.patch: %d of %d go-oauth2 %s tests pass", passed, len(tests), v4Version)
	})
}

// TestRewriteImports: only the quoted import paths of go-oauth2 v4 change.
func TestRewriteImports(t *testing.T) {
	src := "package x_test\n\nimport (\n\t\"context\"\n\n\t\"github.com/go-oauth2/oauth2/v4\"\n\toe \"github.com/go-oauth2/oauth2/v4/errors\"\n\t\"github.com/go-oauth2/oauth2/v4x\"\n)\n\nvar s = \"github.com/go-oauth2/oauth2/v4/server\"\n"
	want := "package x_test\n\nimport (\n\t\"context\"\n\n\t\"github.com/oauth2d/oauth2\"\n\toe \"github.com/oauth2d/oauth2/errors\"\n\t\"github.com/go-oauth2/oauth2/v4x\"\n)\n\nvar s = \"github.com/go-oauth2/oauth2/v4/server\"\n"
	got, err := rewriteImports("x_test.go", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != want {
		t.Fatalf("got\n%s\nwant\n%s", got, want)
	}
}

// TestPatchApply: hunks apply only where their context matches.
func TestPatchApply(t *testing.T) {
	p, err := parsePatch("comment\n--- a/f.go\n+++ b/f.go\n@@ -2,3 +2,3 @@ MIGRATING.md: x\n b\n-c\n+C\n d\n")
	if err != nil {
		t.Fatal(err)
	}
	got, err := hunks(p["f.go"]).apply("a\nb\nc\nd\ne\n")
	if err != nil || got != "a\nb\nC\nd\ne\n" {
		t.Fatalf("apply = %q, %v", got, err)
	}
	if p["f.go"][0].section != "MIGRATING.md: x" {
		t.Fatalf("section %q", p["f.go"][0].section)
	}
	if _, err := hunks(p["f.go"]).apply("a\nb\nX\nd\ne\n"); err == nil {
		t.Fatal("a hunk applied where its lines differ")
	}
	if _, err := hunks(p["f.go"]).apply("b\nc\nd\n"); err == nil {
		t.Fatal("a hunk applied at another line")
	}
}
