// Package bench is Parlo's benchmark harness (`make bench`): it measures the
// screen-sharing encoder and pipeline, glass-to-glass and screen-to-decoder latency, share
// start, call set-up, CPU and memory on this machine, side by side with
// references run in the same process tree in interleaved rounds (ffmpeg's
// libvpx and x11grab+libvpx at the same fixed speed and rate control,
// baresip↔baresip), and rewrites docs/benchmarks.md whole from the run.
//
// The encoder pairs (encoderpair_test.go) record each content class once
// into a y4m file and feed the same frames to Parlo's VP8 path (the y4menc
// child, y4mchild.go) and to ffmpeg, then decode both streams with ffmpeg
// and compare them with the source (SSIM, PSNR, luma SSIM of the text
// region). The content classes (workscene.go) are real programs on an Xvfb:
// xterm with DejaVu Sans Mono for static, typing and scrolling text, a
// dragged window, ffplay video in a window, pointer motion, and a painter's
// full-screen scroll (xpainter.go), at 1080p and 4K.
//
// Glass to glass (guiglass_test.go) runs the real desktop app twice: one
// `parlo` shares its Xvfb display, driven with xdotool (guiapp.go), with a
// second `parlo` on another display; a barcode on the first display
// changes at random times and a reader grabs the second display through
// MIT-SHM (barcodewatcher.go) to time each change (barcodelog.go), beside
// ffmpeg → ffplay measured the same way. The impairment rows
// (impairment_test.go) read the screen → decoder latency under loss and a
// bandwidth cap (nftables, tc) and through a delay/jitter relay.
//
// The package holds the reusable pieces: process accounting from /proc
// (procstat.go), X content (workscene.go, xpainter.go, desktop.go,
// barcode.go), y4m/IVF reading and writing (y4m.go, ivfcounter.go), the
// child-process roles measured alone (pipelinechild.go, y4mchild.go,
// sharerchild.go) and the report (report.go). The scenarios are Go
// benchmarks in harness_test.go and its siblings, so that they can use
// internal/testpeers and report benchstat-friendly metrics.
package bench
