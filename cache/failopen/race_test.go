//go:build race

package failopen_test

// raceEnabled: the race detector slows every call down, so timing
// assertions are skipped.
const raceEnabled = true
