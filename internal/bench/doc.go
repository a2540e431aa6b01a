// Package bench is Parlo's benchmark harness (`make bench`, issue 4): it
// measures the screen-sharing pipeline, glass-to-glass latency, share start,
// call set-up and memory on this machine, side by side with references run
// in the same process tree at the same time (ffmpeg's x11grab+libvpx,
// baresip↔baresip), and renders one table for stdout and docs/benchmarks.md.
//
// The package holds the reusable pieces: process accounting from /proc
// (procstat.go), X content painters that make the screen deterministic
// (xpainter.go, desktop.go, barcode.go), an IVF stream counter for ffmpeg's
// output (ivfcounter.go), the child-process roles whose CPU and memory are
// measured alone (pipelinechild.go, sharerchild.go) and the report
// (report.go). The scenarios themselves are Go benchmarks in
// harness_test.go and its siblings, so that they can use internal/testpeers
// (Xvfb, baresip, ffplay) and report benchstat-friendly metrics.
package bench
