//go:build !unix

package store

import "os"

// lockFile does nothing where flock is not available: keep one process and
// one store per file there.
func lockFile(*os.File) error { return nil }
