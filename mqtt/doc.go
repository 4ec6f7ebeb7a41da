// Package mqtt is Marquee's MQTT adapter on the client side: the one topic
// table (topics.go) and a paho.mqtt.golang client wrapper that both the
// server and the player use. It never imports the embedded broker, so the
// player binary stays small; the broker lives in package mqtt/broker.
package mqtt
