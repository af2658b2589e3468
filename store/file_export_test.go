package store

// SetFileCompactMin sets the journal growth that triggers a compaction of
// file stores, for the tests, and returns the function that restores it.
func SetFileCompactMin(n int64) (restore func()) {
	old := compactMin
	compactMin = n
	return func() { compactMin = old }
}
