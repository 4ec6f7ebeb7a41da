package mqtt_test

import (
	"testing"

	"github.com/marquee-signage/marquee/mqtt/mqtttest"
)

// TestMosquittoDeployConfig runs the broker conformance suite against a real
// Mosquitto started with deploy/mosquitto's mosquitto.conf and acl (only the
// port and file paths rewritten), or against the external broker named by
// MARQUEE_TEST_MQTT_URL (see package mqtttest). It is skipped when neither
// is available.
func TestMosquittoDeployConfig(t *testing.T) {
	env := mqtttest.ExternalEnv(t)
	if env == nil {
		m := mqtttest.StartMosquitto(t, "../deploy/mosquitto", map[string]string{
			"marquee-server": serverPassword,
			displayA.ID:      displayA.Token,
			displayB.ID:      displayB.Token,
		})
		env = &mqtttest.Env{URL: m.URL, ServerUser: "marquee-server", ServerPassword: serverPassword, A: displayA, B: displayB}
	}
	mqtttest.RunACLSuite(t, *env)
}
