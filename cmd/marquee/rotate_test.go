package main

import (
	"context"
	"testing"
	"time"

	"github.com/marquee-signage/marquee/mqtt"
)

// TestRotateTokenDisconnects: rotating a display's token drops its live
// MQTT connection, and the old token no longer logs in.
func TestRotateTokenDisconnects(t *testing.T) {
	m, _ := startMain(t, envMap("MARQUEE_ADMIN_PASSWORD", "correct-horse-battery"), "--data-dir", t.TempDir())
	base := "http://" + m.HTTPAddr()
	token, _ := login(t, base, "admin", "correct-horse-battery")
	var d struct{ ID, Token string }
	if code := api(t, "POST", base+"/api/v1/displays", token, map[string]any{"name": "Cổng B", "width": 96, "height": 48}, &d); code != 201 {
		t.Fatalf("create display=%d", code)
	}
	connect := func(password string) *mqtt.Client {
		c, err := mqtt.New(mqtt.Config{BrokerURL: "tcp://" + m.MQTTAddr(), ClientID: d.ID, Username: d.ID, Password: password,
			MaxReconnectInterval: time.Second})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close(context.Background()) })
		if err := c.Start(context.Background()); err != nil {
			t.Fatal(err)
		}
		return c
	}
	c := connect(d.Token)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := c.WaitConnected(ctx); err != nil {
		t.Fatalf("connect with the first token: %v", err)
	}
	var rotated struct{ Token string }
	if code := api(t, "POST", base+"/api/v1/displays/"+d.ID+"/token", token, nil, &rotated); code != 200 || rotated.Token == "" {
		t.Fatalf("rotate=%d", code)
	}
	deadline := time.Now().Add(3 * time.Second)
	for c.Connected() {
		if time.Now().After(deadline) {
			t.Fatal("the display is still connected with its old token 3 s after rotation")
		}
		time.Sleep(20 * time.Millisecond)
	}
	// It cannot come back with the old token; the new one works.
	time.Sleep(1500 * time.Millisecond) // past a reconnect attempt
	if c.Connected() {
		t.Fatal("the old token reconnected")
	}
	c.Close(context.Background())
	c2 := connect(rotated.Token)
	ctx2, cancel2 := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel2()
	if err := c2.WaitConnected(ctx2); err != nil {
		t.Fatalf("connect with the new token: %v", err)
	}
}
