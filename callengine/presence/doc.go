// Package presence reads and writes the bodies of the SIP event packages
// behind an office phone's lamps: dialog-info (RFC 4235, busy lamp field),
// PIDF (RFC 3863, with the RPID activities of RFC 4480) and message-summary
// (RFC 3842, message waiting). The bodies come from the network: every
// parser bounds its input, never panics and returns a sentinel error for
// what it cannot read.
package presence
