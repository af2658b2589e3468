//go:build !race

package store_test

// raceEnabled: the race detector slows every operation several times.
const raceEnabled = false
