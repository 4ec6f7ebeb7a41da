// Package alerts opens an alert when a display falls silent for longer
// than its threshold, closes it when the display returns, and posts both
// events to the webhooks that organisations configure.
//
// The Detector is stateless between runs: each Check reads every display's
// latest status and open alert from the Store and decides with Evaluate (a
// pure function of the clock), so a restart neither loses nor duplicates
// an alert; the store keeps at most one open alert per display.
//
// Deliveries go through a persistent outbox: the store writes one delivery
// per matching webhook in the transaction that opens or closes an alert,
// and the Sender posts due deliveries, signed with HMAC-SHA256, retrying
// failures with exponential back-off. A delivery is posted at least once;
// its ID (header X-Marquee-Delivery, and "id" in the body) lets receivers
// drop repeats.
package alerts
