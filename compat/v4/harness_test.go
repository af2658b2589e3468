package v4_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"go/parser"
	"go/token"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// The module whose files are run, and this module.
const (
	v4Path    = "github.com/go-oauth2/oauth2/v4"
	v4Version = "v4.5.4"
	ourPath   = "github.com/oauth2d/oauth2"
	// tempPath is the module path of the temporary module the files are
	// copied into.
	tempPath = "oauth2d.test/gooauth2v4"
)

// goEnv is the environment of every go command the tests run: no
// workspace, and a module graph the command may complete (the temporary
// module lists only what go-oauth2 v4.5.4's go.mod and this module's
// require; go.sum entries come from both and are verified as usual).
func goEnv() []string {
	return append(os.Environ(), "GOWORK=off", "GOFLAGS=-mod=mod -buildvcs=false")
}

// goCmd runs the go command in dir and returns its standard output; a
// failure fails the test with the command's standard error.
func goCmd(t *testing.T, dir string, args ...string) []byte {
	t.Helper()
	cmd := exec.Command("go", args...)
	cmd.Dir = dir
	cmd.Env = goEnv()
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go %s: %v\n%s", strings.Join(args, " "), err, stderr.Bytes())
	}
	return out
}

// repoRoot is the directory of this module's go.mod.
func repoRoot(t *testing.T) string {
	t.Helper()
	gomod := strings.TrimSpace(string(goCmd(t, ".", "env", "GOMOD")))
	if gomod == "" || gomod == os.DevNull {
		t.Fatal("not in a module")
	}
	return filepath.Dir(gomod)
}

// v4Dir downloads go-oauth2 v4.5.4 into the module cache (checked against
// the checksum database as every download is) and returns its directory.
func v4Dir(t *testing.T) string {
	t.Helper()
	out := goCmd(t, t.TempDir(), "mod", "download", "-json", v4Path+"@"+v4Version)
	var m struct{ Dir, Error string }
	if err := json.Unmarshal(out, &m); err != nil || m.Dir == "" {
		t.Fatalf("go mod download %s@%s: %v %s", v4Path, v4Version, err, m.Error)
	}
	return m.Dir
}

// rewriteImports replaces the import paths of go-oauth2 v4 in a Go file by
// this module's, and changes nothing else: not a byte outside the quoted
// paths.
func rewriteImports(name string, src []byte) ([]byte, error) {
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, name, src, parser.ImportsOnly)
	if err != nil {
		return nil, err
	}
	var out []byte
	last := 0
	for _, imp := range f.Imports {
		p, err := strconv.Unquote(imp.Path.Value)
		if err != nil {
			return nil, err
		}
		if p != v4Path && !strings.HasPrefix(p, v4Path+"/") {
			continue
		}
		start, end := fset.Position(imp.Path.Pos()).Offset, fset.Position(imp.Path.End()).Offset
		out = append(out, src[last:start]...)
		out = append(out, strconv.Quote(ourPath+strings.TrimPrefix(p, v4Path))...)
		last = end
	}
	return append(out, src[last:]...), nil
}

// A patch is a unified diff (diff -u) of v4 files whose imports have been
// rewritten, applied strictly: every context and removed line must be where
// the hunk says. Each hunk header ends with "MIGRATING.md: <section>",
// naming the section of MIGRATING.md whose change it makes.
type patch map[string][]hunk // by file, relative to the module root

type hunk struct {
	oldStart int // 1-based
	section  string
	lines    []string // each starting with ' ', '-' or '+'
}

var hunkHeader = regexp.MustCompile(`^@@ -(\d+)(?:,\d+)? \+\d+(?:,\d+)? @@ ?(.*)$`)

// parsePatch reads a patch; lines before the first file header are
// comments.
func parsePatch(text string) (patch, error) {
	p := patch{}
	var file string
	var cur *hunk
	for n, line := range strings.Split(text, "\n") {
		switch {
		case strings.HasPrefix(line, "--- "):
			cur, file = nil, ""
		case strings.HasPrefix(line, "+++ "):
			file = strings.TrimPrefix(strings.Fields(line)[1], "b/")
		case strings.HasPrefix(line, "@@"):
			m := hunkHeader.FindStringSubmatch(line)
			if m == nil || file == "" {
				return nil, fmt.Errorf("line %d: bad hunk header %q", n+1, line)
			}
			start, _ := strconv.Atoi(m[1])
			p[file] = append(p[file], hunk{oldStart: start, section: m[2]})
			cur = &p[file][len(p[file])-1]
		case cur != nil && line != "" && strings.ContainsRune(" -+", rune(line[0])):
			cur.lines = append(cur.lines, line)
		case cur != nil && line == "":
			// The end of the file, or an empty context line whose space
			// an editor dropped: the latter would fail to apply below.
		case strings.HasPrefix(line, `\ `):
		default:
			if file != "" {
				return nil, fmt.Errorf("line %d: unexpected %q", n+1, line)
			}
		}
	}
	return p, nil
}

// apply applies the hunks to src.
func (hs hunks) apply(src string) (string, error) {
	orig := strings.SplitAfter(src, "\n")
	var out []string
	i := 0 // next line of orig
	for _, h := range hs {
		if h.oldStart-1 < i {
			return "", fmt.Errorf("hunk at line %d overlaps the one before", h.oldStart)
		}
		out = append(out, orig[i:h.oldStart-1]...)
		i = h.oldStart - 1
		for _, l := range h.lines {
			text := l[1:] + "\n"
			switch l[0] {
			case ' ', '-':
				if i >= len(orig) || orig[i] != text {
					got := "end of file"
					if i < len(orig) {
						got = strconv.Quote(orig[i])
					}
					return "", fmt.Errorf("hunk at line %d: line %d is %s, the patch expects %q", h.oldStart, i+1, got, text)
				}
				if l[0] == ' ' {
					out = append(out, text)
				}
				i++
			case '+':
				out = append(out, text)
			}
		}
	}
	out = append(out, orig[i:]...)
	return strings.Join(out, ""), nil
}

type hunks []hunk

// migratingSections returns the headings of MIGRATING.md.
func migratingSections(t *testing.T, root string) map[string]bool {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(root, "MIGRATING.md"))
	if err != nil {
		t.Fatal(err)
	}
	s := map[string]bool{}
	for _, line := range strings.Split(string(data), "\n") {
		if strings.HasPrefix(line, "#") {
			s[strings.TrimSpace(strings.TrimLeft(line, "#"))] = true
		}
	}
	return s
}

// loadPatch reads v4.5.4.patch and checks that every hunk names a section
// of MIGRATING.md.
func loadPatch(t *testing.T, root string) patch {
	t.Helper()
	text, err := os.ReadFile("v4.5.4.patch")
	if err != nil {
		t.Fatal(err)
	}
	p, err := parsePatch(string(text))
	if err != nil {
		t.Fatalf("v4.5.4.patch: %v", err)
	}
	sections := migratingSections(t, root)
	for file, hs := range p {
		for _, h := range hs {
			name, ok := strings.CutPrefix(h.section, "MIGRATING.md: ")
			if !ok || !sections[name] {
				t.Fatalf("v4.5.4.patch: the hunk of %s at line %d names %q, not a section of MIGRATING.md", file, h.oldStart, h.section)
			}
		}
	}
	return p
}

// tempModule is the module go-oauth2's files are copied into: v4.5.4's
// go.mod (so that its tests' dependencies are the versions it pinned) with
// this module required in place of go-oauth2 and replaced by the working
// tree, and the go.sum entries of both modules.
type tempModule struct {
	dir     string
	root    string            // this module's directory
	overlay map[string]string // files added to this module's packages
}

func newTempModule(t *testing.T, v4, root string) *tempModule {
	t.Helper()
	dir := t.TempDir()
	gomod, err := os.ReadFile(filepath.Join(v4, "go.mod"))
	if err != nil {
		t.Fatal(err)
	}
	mod := regexp.MustCompile(`(?m)^module .*$`).ReplaceAll(gomod, []byte("module "+tempPath))
	mod = append(mod, fmt.Sprintf("\nrequire %s v0.0.0-00010101000000-000000000000\n\nreplace %s => %s\n", ourPath, ourPath, root)...)
	var sum []byte
	for _, f := range []string{filepath.Join(root, "go.sum"), filepath.Join(v4, "go.sum")} {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		sum = append(sum, b...)
	}
	for name, data := range map[string][]byte{"go.mod": mod, "go.sum": sum} {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return &tempModule{dir: dir, root: root, overlay: map[string]string{}}
}

// add writes a file of package dir (relative to the module root) whose
// package clause is pkg. A file of an external test package, or of a
// command, goes into the temporary module at dir. A file of an internal
// test package (package server, say) is compiled into this module's
// package of that directory through an overlay, so that it sees the same
// package go-oauth2's file saw; it is never written into the working tree.
func (m *tempModule) add(t *testing.T, dir, name string, data []byte) {
	t.Helper()
	target := filepath.Join(m.dir, dir, name)
	pkg := ""
	if strings.HasSuffix(name, ".go") {
		pkg = packageOf(t, name, data)
	}
	if strings.HasSuffix(name, "_test.go") && !strings.HasSuffix(pkg, "_test") && pkg != "main" {
		real := filepath.Join(m.root, dir, "zz_gooauth2v4_"+name)
		target = filepath.Join(m.dir, "overlay", dir, name)
		m.overlay[real] = target
	}
	if err := os.MkdirAll(filepath.Dir(target), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(target, data, 0o644); err != nil {
		t.Fatal(err)
	}
}

func packageOf(t *testing.T, name string, data []byte) string {
	t.Helper()
	f, err := parser.ParseFile(token.NewFileSet(), name, data, parser.PackageClauseOnly)
	if err != nil {
		t.Fatal(err)
	}
	return f.Name.Name
}

// overlayFile writes the overlay of the go command (-overlay) and returns
// its name, or "" when there is none.
func (m *tempModule) overlayFile(t *testing.T) string {
	t.Helper()
	if len(m.overlay) == 0 {
		return ""
	}
	b, err := json.Marshal(map[string]any{"Replace": m.overlay})
	if err != nil {
		t.Fatal(err)
	}
	name := filepath.Join(m.dir, "overlay.json")
	if err := os.WriteFile(name, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return name
}

// testResult is the outcome of one top-level test function.
type testResult struct {
	ran, passed bool
	output      strings.Builder
}

// goTest runs go test -json in the temporary module on pkgs, limited to
// the named tests, and returns each one's result by package and name. A
// package that does not compile reports its tests as not run, with the
// compiler's output.
func (m *tempModule) goTest(t *testing.T, tests map[string]string, pkgs ...string) map[string]*testResult {
	t.Helper()
	var names []string
	for name := range tests {
		names = append(names, regexp.QuoteMeta(name))
	}
	args := []string{"test", "-json", "-count=1", "-timeout=5m", "-run=^(" + strings.Join(names, "|") + ")$"}
	if ov := m.overlayFile(t); ov != "" {
		args = append(args, "-overlay="+ov)
	}
	cmd := exec.Command("go", append(args, pkgs...)...)
	cmd.Dir = m.dir
	cmd.Env = goEnv()
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, _ := cmd.Output() // failing tests make it exit 1
	results := map[string]*testResult{}
	buildOut := map[string]*strings.Builder{}
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Buffer(nil, 4<<20)
	for sc.Scan() {
		var ev struct{ Action, Package, ImportPath, Test, Output string }
		if json.Unmarshal(sc.Bytes(), &ev) != nil {
			continue
		}
		if ev.Action == "build-output" {
			pkg, _, _ := strings.Cut(ev.ImportPath, " ")
			pkg = strings.TrimSuffix(pkg, "_test")
			if buildOut[pkg] == nil {
				buildOut[pkg] = &strings.Builder{}
			}
			buildOut[pkg].WriteString(ev.Output)
			continue
		}
		if ev.Test == "" || strings.Contains(ev.Test, "/") {
			continue
		}
		key := ev.Package + "." + ev.Test
		r := results[key]
		if r == nil {
			r = &testResult{}
			results[key] = r
		}
		switch ev.Action {
		case "output":
			r.output.WriteString(ev.Output)
		case "pass":
			r.ran, r.passed = true, true
		case "fail":
			r.ran = true
		}
	}
	for name, pkg := range tests {
		key := pkg + "." + name
		if results[key] == nil {
			r := &testResult{}
			if b := buildOut[pkg]; b != nil {
				r.output.WriteString("does not compile:\n" + b.String())
			} else {
				r.output.WriteString("no result; go test said:\n" + stderr.String())
			}
			results[key] = r
		}
	}
	return results
}
