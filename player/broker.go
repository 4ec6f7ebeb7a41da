package player

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/marquee-signage/marquee/mqtt"
)

// MQTT session settings of a player.
const (
	keepAlive            = 30 * time.Second
	connectTimeout       = 10 * time.Second
	maxReconnectInterval = 60 * time.Second
)

// newClient builds the MQTT client: username and client ID are the display
// ID, the password its token; the Last Will is the retained offline status.
// The session is persistent (CleanSession false), so commands and acks sent
// while the display is offline wait for it on the broker; plays do not rely
// on it (the journal is the outbox).
func (a *Agent) newClient() (*mqtt.Client, error) {
	return mqtt.New(mqtt.Config{
		BrokerURL:    a.cfg.BrokerURL,
		ClientID:     a.cfg.DisplayID,
		Username:     a.cfg.DisplayID,
		Password:     a.cfg.Token,
		CleanSession: false,
		Will: &mqtt.Message{
			Topic:    a.topics.Status(a.cfg.DisplayID),
			Payload:  lastWill(a.cfg.DisplayID),
			QoS:      1,
			Retained: true,
		},
		KeepAlive:            keepAlive,
		ConnectTimeout:       connectTimeout,
		MaxReconnectInterval: maxReconnectInterval,
		MaxPayload:           MaxStateBytes,
		OnConnect:            a.onConnect,
		OnConnectionLost:     a.onConnectionLost,
		Logger:               a.log,
	})
}

// subscribe registers the player's three subscriptions (QoS 1); the client
// makes them again on every connection.
func (a *Agent) subscribe(ctx context.Context) error {
	id := a.cfg.DisplayID
	subs := []struct {
		topic string
		h     func(context.Context, mqtt.Message)
	}{
		{a.topics.State(id), a.handleState},
		{a.topics.Cmd(id), a.cmds.handle},
		{a.topics.PlaysAck(id), a.handleAck},
	}
	for _, s := range subs {
		if err := a.client.Subscribe(ctx, s.topic, 1, s.h); err != nil {
			return fmt.Errorf("subscribe %s: %w", s.topic, err)
		}
	}
	return nil
}

func (a *Agent) onConnect(context.Context) {
	a.log.Info("connected to broker")
	signal(a.statusNow)
	signal(a.reconnects)
}

func (a *Agent) onConnectionLost(err error) {
	a.log.Warn("connection to broker lost; playing on from the cache", "err", err)
}

// handleState is the MQTT handler of the retained state topic.
func (a *Agent) handleState(_ context.Context, msg mqtt.Message) {
	a.offerState(msg.Payload, "mqtt")
}

// publish publishes at QoS 1 and waits for the broker's PUBACK, at most
// publishTimeout.
func (a *Agent) publish(ctx context.Context, topic string, payload []byte, retained bool) error {
	if a.client == nil {
		return errors.New("no broker configured")
	}
	ctx, cancel := context.WithTimeout(ctx, publishTimeout)
	defer cancel()
	return a.client.Publish(ctx, mqtt.Message{Topic: topic, Payload: payload, QoS: 1, Retained: retained})
}

// publishJSON encodes v and publishes it at QoS 1.
func (a *Agent) publishJSON(ctx context.Context, topic string, v any, retained bool) error {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("encode %s: %w", topic, err)
	}
	return a.publish(ctx, topic, b, retained)
}
