//go:build !unix

package store

// lockFile does nothing where flock is not available: keep one process per
// file store there.
func lockFile(string) (func(), error) { return func() {}, nil }
