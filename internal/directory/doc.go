// Package directory finds people to call and names the people who call:
// local contacts kept in a JSON file, CardDAV address books (RFC 6352) and
// LDAP directories (RFC 4511), searched together by a Searcher that queries
// every source at once under one deadline, merges and ranks the answers,
// and reports each source's failure by name instead of stalling.
//
// Everything a server returns is untrusted: names and numbers are cleaned
// (control characters and invalid UTF-8 removed, lengths and counts capped)
// before they reach a caller, and responses are bounded in size.
//
// Numbers are compared in a normalised form (Normalize, SameNumber) so that
// "+33 1 23 45 67 89" in an address book names the caller "0123456789", and
// dialled numbers go through Rules (prefix rewriting, e.g. +33 to 0, or an
// outside-line prefix) just before the call is placed.
package directory
