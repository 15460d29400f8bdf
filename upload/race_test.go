//go:build race

package upload

// raceEnabled: the race detector changes allocation counts.
const raceEnabled = true
