//go:build !race

package rarp

const raceEnabled = false
