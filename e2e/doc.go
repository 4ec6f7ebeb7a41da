// Package e2e holds Marquee's end-to-end and chaos tests. It has no code of
// its own: everything is in its _test.go files, which drive the real
// programs like an operator and a screen would.
//
// # What runs
//
// The server is the real `marquee serve` binary, built once per test run
// from ./cmd/marquee (with -race when the tests run with -race, so a data
// race in the server fails the test that provoked it) and started as a
// subprocess on 127.0.0.1:0 ports, with a temporary data dir, JSON logs and
// a known admin password. A program's Main cannot be imported from another
// package, so a subprocess is the only way to run the real one; the tests
// read its bound addresses from its "marquee serving" log line, stop it
// with SIGTERM (its graceful Close) or SIGKILL, and start it again on the
// same data dir and ports. The tests talk to it only over its HTTP API and
// MQTT, as a user and as devices.
//
// The player is the real agent (player.NewAgent with the settings
// cmd/marquee-player gives it and a HeadlessOutput) running in the test
// process, so the tests see every item it puts on screen and its counters;
// the SIGKILL test runs the real marquee-player binary instead.
//
//   - e2e_test.go: upload → playlist → display → schedule → the player plays
//     the timeline's items in its order at its times (±300 ms) → every play
//     is in GET /api/v1/plays exactly once; a higher-priority schedule
//     reaches the player over MQTT within 2 s. Once with the embedded
//     broker, once with Mosquitto.
//   - chaos_test.go: the broker stopped, the server stopped (gracefully, and
//     killed), the player SIGKILLed and restarted (once with the server
//     unreachable): the screen never goes black, no play is lost and none
//     is stored twice — the server's playback log is checked against what
//     the player showed and what its journal recorded.
//   - garbage_test.go: malformed, oversized and misdirected messages on
//     every topic a display or the server account can reach are dropped and
//     counted, and neither side stops working.
//
// # Environment
//
//	MARQUEE_CHAOS_OUTAGE   how long each chaos outage lasts (a Go duration;
//	                       default 30s). The assertions hold for any value;
//	                       shorter ones make the suite faster.
//	MARQUEE_TEST_MQTT_URL  CI's switch for "the Mosquitto variants must run".
//
// The Mosquitto variant of the happy path never uses the broker that
// MARQUEE_TEST_MQTT_URL names: the test creates displays through the API,
// and Mosquitto only learns a new display's account from its password file
// and a SIGHUP, which a test cannot do to a broker it does not own. So it
// always starts its own Mosquitto from deploy/mosquitto (mosquitto.conf and
// acl, only the port and paths rewritten; see mqtttest.StartMosquitto) on a
// free port, and adds each display with mosquitto_passwd. It runs whenever
// mosquitto and mosquitto_passwd are on PATH. Without them it is skipped —
// unless MARQUEE_TEST_MQTT_URL is set, in which case it fails: CI asked for
// the Mosquitto suite and must install Debian's mosquitto package.
//
// The chaos tests are skipped with -short. Every test runs in parallel
// with the others, each with its own server, broker, ports and
// directories; the package raises -parallel to 8 unless it is given, as
// the tests wait rather than compute. So the suite takes about one outage
// plus the MQTT client's reconnection back-off after it (exponential, up
// to a minute plus jitter after a long broker outage) plus setup: 1½–2½
// minutes with the default 30 s outage and -race, about 35 s with
// MARQUEE_CHAOS_OUTAGE=3s.
//
// A program under test that does not exit within 12 s of its signal is sent
// SIGQUIT, and its goroutine dump is kept in a marquee-e2e-*.log file in
// the temporary directory, named in the failure.
package e2e
