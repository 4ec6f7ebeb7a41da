//go:build !race

package e2e

// raceEnabled: the programs under test are built with -race too.
const raceEnabled = false
