// Package capture is the screen-sharing source of Parlo: it enumerates
// monitors, grabs one monitor's pixels at a steady pace, converts them to
// I420, skips frames that did not change and encodes them as VP8.
//
// On Linux/X11 it keeps one X connection and one MIT-SHM segment for the whole
// share (findings.md: kbinani/screenshot opens a connection and a segment per
// capture, which is slow and broke under Xvfb). Elsewhere it falls back to
// kbinani/screenshot behind the same interface.
//
// The package knows nothing about SIP, calls or the UI.
package capture
