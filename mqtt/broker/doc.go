// Package broker is the MQTT broker embedded in `marquee serve`: mochi-mqtt
// with Marquee's authentication and ACL. Large deployments run Mosquitto
// instead (deploy/mosquitto, same accounts and ACL) and the server connects
// to it as an ordinary client; nothing else changes. The player never links
// this package.
//
// Accounts: the server's own account (ServerUsername, default
// "marquee-server", and ServerPassword) may publish and subscribe to
// anything. A display logs in with its display ID as username and client ID
// and its token as password, checked by Config.Displays. Anything else is
// refused. After rotating or revoking a token, call DisconnectDisplay: an
// open connection is not re-checked by itself.
//
// ACL (least privilege, per display, exact topics, no wildcards):
//
//	publish   {prefix}/displays/{its id}/status, …/plays, …/cmd/result
//	subscribe {prefix}/displays/{its id}/state, …/cmd, …/plays/ack
//
// A refused subscription gets SUBACK 0x80. A refused publish is
// acknowledged and discarded, as Mosquitto does (MQTT 3.1.1 has no negative
// PUBACK; disconnecting would make a persistent session re-send it in a
// loop). A Last Will outside the display's publish topics refuses the login.
//
// Retention and persistence: retained messages never expire (mochi's
// MaximumMessageExpiryInterval is 0; its 24-hour default would delete every
// desired state a day after publication) and neither do QoS 1 messages
// queued for an offline player, until its session expires (SessionExpiry,
// default 7 days). Nothing is persisted across a restart of the broker:
// retained states, sessions and queued messages live in memory. That is by
// design — the server republishes every display's desired state when it
// starts, players re-subscribe on reconnect and also poll their state over
// HTTP, and plays are acknowledged at application level, so a restart loses
// nothing that matters.
//
// Fleet tuning (each connection costs about 2×ClientBufferBytes plus
// 8 bytes × MaxClientWritesPending): 2 KiB buffers, 128 pending writes,
// 256 KiB packets, 7-day sessions. mochi drops a message for a client whose
// write queue is full even at QoS 1 (Stats().MessagesDropped); the server's
// connection carries the whole fleet's uploads, so watch that counter.
package broker
