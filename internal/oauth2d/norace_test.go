//go:build !race

package oauth2d

// raceEnabled: the race detector drops sync.Pool items at random, so
// allocation counts are not meaningful.
const raceEnabled = false
