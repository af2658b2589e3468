// Package v4 holds the test that keeps the promise of MIGRATING.md: a
// go-oauth2 v4 user switches to this module by changing import paths.
//
// Its tests take go-oauth2 v4.5.4's own test files (the root, generates,
// manage, server and store packages) and its example server and client
// from the Go module cache, rewrite their import paths and nothing else,
// and run them against this module: once as they are, and once with the
// edits of v4.5.4.patch, each hunk of which names the section of
// MIGRATING.md it follows. The test-only dependencies of those files
// (goconvey, httpexpect, go-session) live in the temporary module the
// tests build, never in this module's go.mod, so none of them can reach a
// program built from this module.
//
// The package has no code of its own; go test ./... runs it.
package v4
