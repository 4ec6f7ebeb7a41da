// Package mqtt is Marquee's MQTT adapter on the client side: the one topic
// table (topics.go) and Client, a paho.mqtt.golang (MQTT 3.1.1) wrapper
// that both the server and the player use. It never imports the embedded
// broker, so the player binary stays small; the broker lives in package
// mqtt/broker, test helpers in mqtt/mqtttest.
//
// # Connection
//
// Start returns at once and connects in the background; every attempt, the
// first included, is retried until Close with paho's exponential back-off
// capped at Config.MaxReconnectInterval plus random jitter, so a player may
// start while the broker is down and a fleet does not reconnect in
// lock-step. After every (re)connection the client renews all its
// subscriptions, then reports itself connected (Connected, WaitConnected)
// and calls Config.OnConnect. A server-style client (CleanSession true)
// thus keeps its subscriptions across reconnections; a player
// (CleanSession false, client ID = display ID) also has QoS 1 messages
// queued by the broker while it was away.
//
// # Delivery
//
// Inbound messages are routed by the client itself to the handlers whose
// filters match, through a bounded queue served by HandlerWorkers
// goroutines, or through a subscription's own named queue (Subscribe with
// OnQueue), so that one kind of traffic cannot crowd out another; paho's
// network reader only enqueues, so a slow handler never delays keepalive
// or other messages. When a queue is full the message is dropped and
// counted (Stats, per queue in Stats.Queues). A message is acknowledged to the broker once
// it is queued, not once handled. Hence handlers must be idempotent and must
// not assume order (QoS 1 is at-least-once; every subscription renewal
// re-delivers retained messages; workers run concurrently), and whatever
// must not be lost is confirmed at application level: the player keeps
// plays until the server's …/plays/ack, and compares desired-state
// revisions rather than trusting arrival order.
//
// Publish sends one message and, at QoS 1, waits for the PUBACK bounded by
// ctx. It fails at once when not connected and when the connection drops
// before the PUBACK; it never queues for later. Callers that need delivery
// keep their own outbox and retry.
//
// The Last Will (Config.Will) is published by the broker only when the
// connection dies without a DISCONNECT. Close sends a DISCONNECT, so a
// player publishes its retained offline status itself before closing.
//
// # Tests
//
// Tests run against real brokers: the embedded one on 127.0.0.1:0, and
// Mosquitto started from deploy/mosquitto when it is installed, or the
// external broker named by MARQUEE_TEST_MQTT_URL (see package mqtttest).
package mqtt
