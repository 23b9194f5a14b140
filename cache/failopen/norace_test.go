//go:build !race

package failopen_test

const raceEnabled = false
