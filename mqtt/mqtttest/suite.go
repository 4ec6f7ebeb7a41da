package mqtttest

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/marquee-signage/marquee/mqtt"
)

// quiet is how long a test waits for a message that must not come, after
// a sentinel that was sent later on the same path has arrived.
const quiet = 300 * time.Millisecond

// RunACLSuite checks what every Marquee broker must enforce (embedded
// mochi, Mosquitto with deploy/mosquitto, or an external one): a display
// publishes its status and reads its state; it can neither read nor write
// another display's topics, nor its own where the protocol says the other
// way, nor use wildcards to see others; wrong credentials are refused; the
// server account can do everything; a vanished display's Last Will is
// published and retained, and never lands on another display's topic. It
// uses client IDs "<display ID>" and
// "suite-server-*"; run one suite per broker at a time.
func RunACLSuite(t *testing.T, env Env) {
	tp := env.Topics
	a, b := env.A, env.B
	ctx := context.Background()
	// A long-lived broker (CI's, or a developer's) keeps the displays'
	// persistent sessions from an earlier run; a message queued for such a
	// session arrives without the retained flag. Start from clean sessions,
	// as a newly installed player would.
	for _, d := range []Credentials{a, b} {
		cfg := env.DisplayConfig(d)
		cfg.CleanSession = true
		Connect(t, cfg).Close(ctx)
	}
	for _, topic := range []string{tp.State(a.ID), tp.State(b.ID), tp.Status(a.ID), tp.Status(b.ID)} {
		srv := Connect(t, env.ServerConfig("suite-server-reset"))
		publish0 := func() error {
			pctx, cancel := context.WithTimeout(ctx, 5*time.Second)
			defer cancel()
			return srv.Publish(pctx, mqtt.Message{Topic: topic, QoS: 1, Retained: true}) // clears a retained message
		}
		if err := publish0(); err != nil {
			t.Fatalf("clear retained %s: %v", topic, err)
		}
		srv.Close(ctx)
	}
	publish := func(t *testing.T, c *mqtt.Client, topic, payload string, retained bool) {
		t.Helper()
		pctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
		if err := c.Publish(pctx, mqtt.Message{Topic: topic, Payload: []byte(payload), QoS: 1, Retained: retained}); err != nil {
			t.Fatalf("publish %s: %v", topic, err)
		}
	}
	subscribe := func(t *testing.T, c *mqtt.Client, filter string, r *Recorder) error {
		t.Helper()
		sctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
		return c.Subscribe(sctx, filter, 1, r.Handle)
	}
	mustSubscribe := func(t *testing.T, c *mqtt.Client, filter string, r *Recorder) {
		t.Helper()
		if err := subscribe(t, c, filter, r); err != nil {
			t.Fatalf("subscribe %s: %v", filter, err)
		}
	}

	t.Run("display publishes its status and reads its state", func(t *testing.T) {
		srv := Connect(t, env.ServerConfig("suite-server-1"))
		statuses := NewRecorder()
		mustSubscribe(t, srv, tp.AllDisplays(mqtt.KindStatus), statuses)
		publish(t, srv, tp.State(a.ID), `{"revision":1}`, true)

		dsp := Connect(t, env.DisplayConfig(a))
		states := NewRecorder()
		mustSubscribe(t, dsp, tp.State(a.ID), states)
		m := states.Wait(t, 5*time.Second, "retained state", OnTopic(tp.State(a.ID), `{"revision":1}`))
		if !m.Retained {
			t.Errorf("state delivered to a new subscriber without the retained flag")
		}
		publish(t, dsp, tp.Status(a.ID), `{"online":true}`, true)
		statuses.Wait(t, 5*time.Second, "display status at the server", OnTopic(tp.Status(a.ID), `{"online":true}`))
		for _, topic := range []string{tp.Plays(a.ID), tp.CmdResult(a.ID)} {
			r := NewRecorder()
			mustSubscribe(t, srv, topic, r)
			publish(t, dsp, topic, "x", false)
			r.Wait(t, 5*time.Second, "display upload at the server", OnTopic(topic, "x"))
		}
	})

	t.Run("display cannot read another display's topics", func(t *testing.T) {
		srv := Connect(t, env.ServerConfig("suite-server-2"))
		publish(t, srv, tp.State(b.ID), `{"secret":"b"}`, true)

		dsp := Connect(t, env.DisplayConfig(a))
		got := NewRecorder()
		for _, filter := range []string{
			tp.State(b.ID), tp.Cmd(b.ID), tp.PlaysAck(b.ID), tp.Status(b.ID), tp.Plays(b.ID),
			tp.AllDisplays(mqtt.KindState), tp.DisplayTree(b.ID), "marquee/v1/#", "#",
		} {
			// A broker may refuse (SUBACK 0x80) or grant and deliver
			// nothing (Mosquitto checks every delivery): both are fine.
			_ = subscribe(t, dsp, filter, got)
		}
		mine := NewRecorder()
		mustSubscribe(t, dsp, tp.State(a.ID), mine)
		publish(t, srv, tp.State(b.ID), `{"secret":"b2"}`, true)
		publish(t, srv, tp.Cmd(b.ID), `{"type":"reload-state"}`, false)
		publish(t, srv, tp.State(a.ID), `{"sentinel":true}`, true)
		mine.Wait(t, 5*time.Second, "own state", OnTopic(tp.State(a.ID), `{"sentinel":true}`))
		time.Sleep(quiet)
		got.None(t, "display A", func(m mqtt.Message) bool { return !strings.Contains(m.Topic, "/"+a.ID+"/") })
	})

	t.Run("display cannot publish outside its allowance", func(t *testing.T) {
		srv := Connect(t, env.ServerConfig("suite-server-3"))
		seen := NewRecorder()
		mustSubscribe(t, srv, "#", seen)
		dsp := Connect(t, env.DisplayConfig(a))
		forbidden := []string{
			tp.Plays(b.ID), tp.Status(b.ID), tp.CmdResult(b.ID), tp.State(b.ID),
			tp.State(a.ID), tp.Cmd(a.ID), tp.PlaysAck(a.ID), // its own, but server → player
			"marquee/v1/other", "elsewhere",
		}
		for _, topic := range forbidden {
			// Brokers acknowledge and drop (MQTT 3.1.1 has no negative
			// PUBACK), so the publish itself succeeds.
			publish(t, dsp, topic, "forged", false)
		}
		publish(t, dsp, tp.Plays(a.ID), "sentinel", false)
		seen.Wait(t, 5*time.Second, "display's own plays", OnTopic(tp.Plays(a.ID), "sentinel"))
		time.Sleep(quiet)
		seen.None(t, "server", func(m mqtt.Message) bool { return string(m.Payload) == "forged" })
		if !dsp.Connected() || dsp.Stats().Reconnects != 0 {
			t.Errorf("display was disconnected for a refused publish (connected=%v, reconnects=%d)", dsp.Connected(), dsp.Stats().Reconnects)
		}
	})

	t.Run("wrong credentials are refused", func(t *testing.T) {
		for name, cfg := range map[string]mqtt.Config{
			"wrong token":           withCreds(env.DisplayConfig(a), a.ID, a.Token+"x"),
			"another display token": withCreds(env.DisplayConfig(a), a.ID, b.Token),
			"empty token":           withCreds(env.DisplayConfig(a), a.ID, ""),
			"unknown display":       withCreds(env.DisplayConfig(Credentials{ID: "dsp_unknown"}), "dsp_unknown", a.Token),
			"wrong server password": withCreds(env.ServerConfig("suite-server-4"), env.ServerUser, env.ServerPassword+"x"),
			"anonymous":             withCreds(env.ServerConfig("suite-anon"), "", ""),
		} {
			t.Run(name, func(t *testing.T) {
				t.Parallel()
				c := Start(t, cfg)
				wctx, cancel := context.WithTimeout(ctx, 1500*time.Millisecond)
				defer cancel()
				if err := c.WaitConnected(wctx); err == nil {
					t.Fatalf("connected with %s", name)
				}
			})
		}
	})

	t.Run("server account can do everything", func(t *testing.T) {
		srv := Connect(t, env.ServerConfig("suite-server-5"))
		all := NewRecorder()
		mustSubscribe(t, srv, "marquee/v1/#", all)
		dsp := Connect(t, env.DisplayConfig(a))
		cmds := NewRecorder()
		mustSubscribe(t, dsp, tp.Cmd(a.ID), cmds)
		mustSubscribe(t, dsp, tp.PlaysAck(a.ID), cmds)
		publish(t, srv, tp.Cmd(a.ID), "cmd", false)
		publish(t, srv, tp.PlaysAck(a.ID), "ack", false)
		cmds.Wait(t, 5*time.Second, "command", OnTopic(tp.Cmd(a.ID), "cmd"))
		cmds.Wait(t, 5*time.Second, "plays ack", OnTopic(tp.PlaysAck(a.ID), "ack"))
		for _, topic := range []string{tp.Status(b.ID), tp.Plays(b.ID), tp.State(b.ID), "marquee/v1/anything/else"} {
			publish(t, srv, topic, "srv", false)
			all.Wait(t, 5*time.Second, "server's own publish", OnTopic(topic, "srv"))
		}
		publish(t, dsp, tp.Status(a.ID), "from-a", false)
		all.Wait(t, 5*time.Second, "display status via wildcard", OnTopic(tp.Status(a.ID), "from-a"))
	})

	t.Run("last will is published and retained when a display vanishes", func(t *testing.T) {
		srv := Connect(t, env.ServerConfig("suite-server-6"))
		publish(t, srv, tp.Status(a.ID), "", true) // clear what earlier tests retained
		statuses := NewRecorder()
		mustSubscribe(t, srv, tp.Status(a.ID), statuses)

		proxy := NewProxy(t, strings.TrimPrefix(env.URL, "tcp://"))
		cfg := env.DisplayConfig(a)
		cfg.BrokerURL = proxy.URL()
		cfg.Will = &mqtt.Message{Topic: tp.Status(a.ID), Payload: []byte(`{"online":false}`), QoS: 1, Retained: true}
		dsp := Connect(t, cfg)
		publish(t, dsp, tp.Status(a.ID), `{"online":true}`, true)
		statuses.Wait(t, 5*time.Second, "online status", OnTopic(tp.Status(a.ID), `{"online":true}`))

		proxy.Close() // reset without DISCONNECT; the display cannot come back
		statuses.Wait(t, 5*time.Second, "last will", OnTopic(tp.Status(a.ID), `{"online":false}`))

		late := NewRecorder()
		srv2 := Connect(t, env.ServerConfig("suite-server-7"))
		mustSubscribe(t, srv2, tp.Status(a.ID), late)
		if m := late.Wait(t, 5*time.Second, "retained last will", OnTopic(tp.Status(a.ID), `{"online":false}`)); !m.Retained {
			t.Errorf("last will not retained")
		}
		publish(t, srv2, tp.Status(a.ID), "", true)
	})

	t.Run("a display's last will never lands on another display's topic", func(t *testing.T) {
		srv := Connect(t, env.ServerConfig("suite-server-8"))
		seen := NewRecorder()
		mustSubscribe(t, srv, "#", seen)
		proxy := NewProxy(t, strings.TrimPrefix(env.URL, "tcp://"))
		cfg := env.DisplayConfig(b)
		cfg.BrokerURL = proxy.URL()
		cfg.Will = &mqtt.Message{Topic: tp.Status(a.ID), Payload: []byte("forged-will"), QoS: 1, Retained: true}
		c := Start(t, cfg)
		// The embedded broker refuses the login; Mosquitto accepts it and
		// drops the Will when it would be published.
		wctx, cancel := context.WithTimeout(ctx, time.Second)
		_ = c.WaitConnected(wctx)
		cancel()
		proxy.Close()
		publish(t, srv, tp.Cmd(a.ID), "sentinel", false)
		seen.Wait(t, 5*time.Second, "sentinel", OnTopic(tp.Cmd(a.ID), "sentinel"))
		time.Sleep(quiet)
		seen.None(t, "server", func(m mqtt.Message) bool { return string(m.Payload) == "forged-will" })
	})
}

func withCreds(cfg mqtt.Config, user, pass string) mqtt.Config {
	cfg.Username, cfg.Password = user, pass
	return cfg
}
