// Package capture is the screen-sharing source of Parlo: it enumerates
// monitors, grabs one monitor's pixels at a steady pace, converts them to
// I420, skips frames that did not change and encodes them as VP8 (libvpx) or
// H.264 (libx264), whichever the call negotiated; it also decodes both for
// the remote video (libvpx, libavcodec).
//
// On Linux/X11 it keeps one X connection and one MIT-SHM segment for the whole
// share: kbinani/screenshot opens a connection and a segment per capture,
// which is slow and broke under Xvfb after a few grabs. In a Wayland session the
// picture comes from the ScreenCast portal's PipeWire stream (OpenPortalMonitor), read
// by a libpipewire-0.3 binding behind the same grabber interface. Elsewhere it falls
// back to kbinani/screenshot behind the same interface.
//
// The package knows nothing about SIP, calls or the UI.
package capture
