// Package marquee holds the vocabulary shared by the Marquee server and its
// player agents: identifiers, error codes and, later, the desired state and
// play records that cross process boundaries.
//
// It imports only the standard library so that every other package — and
// both binaries — may depend on it.
package marquee
