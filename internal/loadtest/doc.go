// Package loadtest is the logic of `marquee bench fleet`: it builds a fleet
// of displays on a Marquee server through the real admin API, runs a real
// player agent (headless output) for each against the server's HTTP API
// and MQTT broker, changes a schedule, and measures how long the fleet
// takes to apply it, how many plays the server ingests per second, and
// what the server and each player cost in memory. In the same run it
// measures a baseline: the same payload fanned out by one raw paho client
// to as many bare paho subscribers through a fresh embedded broker, which
// shows how much of the fan-out is the broker and how much our pipeline.
//
// Players run in this process or, to spread file descriptors and to tell
// the players' memory from the server's, in worker processes that speak a
// line-based JSON protocol (ServeWorker, CommandWorker). docs/performance.md
// records the figures.
package loadtest
