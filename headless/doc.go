// Package headless is Parlo's scriptable front end: `parlo headless` runs a
// callengine.Phone and speaks JSON lines with whatever drives it (a test, a
// script, another program). Each stdin line is one command object and gets
// exactly one reply line; the phone's events are written as they happen,
// interleaved with replies, one object per line, flushed per line. Logs go to
// stderr as slog JSON, never to stdout.
//
// The protocol, flags and exit codes are described in README.md next to this
// file, with transcripts of a real call in testdata/transcript.txt and of a
// real screen share in testdata/share-transcript.txt, and of DTMF, chat and a
// blind transfer between three processes in testdata/callcontrol-transcript.txt.
package headless
