package bench

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// benchMemorySharing runs a whole Parlo phone in its own process sharing a
// full-motion 1080p screen to a phone in this process for cfg.memWindow and
// reads its peak RSS (VmHWM). The reference is ffmpeg x11grab+libvpx encoding
// the same screen (capture and encode only: no SIP, ICE, DTLS or RTP).
func benchMemorySharing(b *testing.B, cfg config, rep *Report) {
	b.Helper()
	d := showScene(b, sceneFullMotion)
	bob := newPhone(b, "bob", "", true)
	c := startChild(b, "sharer", "PARLO_BENCH_DISPLAY="+d.Name(), "PARLO_BENCH_TARGET="+bob.ContactURI())
	var st SharerStatus
	c.read(b, &st, 30*time.Second)
	if !st.Sharing {
		b.Fatalf("sharer: %+v\n%s", st, c.stderr.String())
	}
	// Whole-sender CPU (the sharing phone process) and receiver CPU (this
	// process, where the receiving phone is the only thing running) over
	// the same window after the warm-up.
	time.Sleep(cfg.warmup)
	s0, _ := ProcCPU(c.pid())
	r0, _ := ProcCPU(os.Getpid())
	t0 := time.Now()
	time.Sleep(cfg.memWindow)
	s1, _ := ProcCPU(c.pid())
	r1, _ := ProcCPU(os.Getpid())
	wall := time.Since(t0).Seconds()
	mem, err := ProcMem(c.pid())
	if err != nil {
		b.Fatal(err)
	}
	stats, err := bob.Stats(st.CallID)
	if err != nil {
		b.Fatal(err)
	}
	decoded := stats.Video.Received.FramesDecoded
	rep.Add(Row{Section: "5", Measure: "whole-sender CPU: a Parlo phone process sharing 1080p full motion (capture, VP8 at the engine's settings, RTP, SRTP, pion) (% of one core)",
		Parlo:     fmt.Sprintf("%.1f %% over %s (peer decoded %d frames in all)", (s1-s0)/wall*100, cfg.memWindow, decoded),
		Reference: "— (capture+encode alone: the live table)", Ratio: "—", Target: "—", Verdict: NoGoal},
		Row{Section: "5", Measure: "receiver CPU: the receiving Parlo engine (pion, SRTP, RTP, VP8 decode; no GUI, no RGBA conversion) (% of one core)",
			Parlo:     fmt.Sprintf("%.1f %% (the harness process: that phone plus the scene painter sending 60 CopyArea requests a second)", (r1-r0)/wall*100),
			Reference: "—", Ratio: "—", Target: "—", Verdict: NoGoal})
	c.stop()
	if decoded == 0 {
		b.Fatal("the peer decoded no frame: the sharer was not sharing")
	}

	short := cfg
	short.measure = 5 * time.Second
	ff := measureFFmpeg(b, short, ffmpegGrabArgs(d.Name(), screenW, screenH, EncoderSettings{}, false))

	mb := func(n int64) float64 { return float64(n) / 1e6 }
	b.ReportMetric(mb(mem.Peak), "peak-MB")
	rep.Add(Row{Section: "5", Measure: fmt.Sprintf("peak RSS of a Parlo phone sharing 1080p full motion for %s (MB)", cfg.memWindow),
		Parlo:     fmt.Sprintf("%.0f (now %.0f; peer decoded %d frames)", mb(mem.Peak), mb(mem.RSS), decoded),
		Reference: fmt.Sprintf("ffmpeg x11grab+libvpx on the same screen: %.0f", mb(ff.peakRSS)),
		Ratio:     Ratio(mb(mem.Peak), mb(ff.peakRSS)), Target: "≤ 150 MB", Verdict: AtMost(mb(mem.Peak), 150)})
	rep.Note("**5.** The sharing process is the engine in a process of its own (this test binary re-executed as `%s=sharer`: callengine.Phone, the WebRTC media path, capture and VP8), "+
		"not `parlo headless`, which has no share command yet; the difference is the JSON-lines front end.", childEnv)
}

// benchMemoryIdleGUI starts the desktop app on a 1080p Xvfb, lets it settle,
// and reads its RSS. $PARLO_BIN names the binary (make bench builds it);
// without it the harness builds one.
func benchMemoryIdleGUI(b *testing.B, cfg config, rep *Report) {
	b.Helper()
	bin := parloBinary(b, cfg)
	d := showScene(b, sceneStatic)
	home := b.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, "--listen", "udp:127.0.0.1:0")
	cmd.Env = append(os.Environ(), "HOME="+home, "XDG_CONFIG_HOME="+filepath.Join(home, ".config"), "SDL_AUDIODRIVER=dummy")
	cmd.Env = append(cmd.Env, d.Env()...)
	var logs strings.Builder
	cmd.Stdout, cmd.Stderr = &logs, &logs
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	defer func() { cancel(); _ = cmd.Wait() }()
	// Wait for the window, then give the app time to finish its start-up
	// work (font caches, first paint) before reading an idle figure.
	deadline := time.Now().Add(30 * time.Second)
	for {
		out, _ := exec.Command("xwininfo", "-display", d.Name(), "-root", "-tree").Output()
		if strings.Contains(string(out), "Parlo") {
			break
		}
		if time.Now().After(deadline) {
			b.Fatalf("no Parlo window after 30 s\n%s", logs.String())
		}
		if cmd.ProcessState != nil {
			b.Fatalf("parlo exited\n%s", logs.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
	time.Sleep(5 * time.Second)
	cpu0, _ := ProcCPU(cmd.Process.Pid)
	time.Sleep(5 * time.Second)
	cpu1, _ := ProcCPU(cmd.Process.Pid)
	mem, err := ProcMem(cmd.Process.Pid)
	if err != nil {
		b.Fatalf("%v\n%s", err, logs.String())
	}
	mb := func(n int64) float64 { return float64(n) / 1e6 }
	b.ReportMetric(mb(mem.RSS), "rss-MB")
	rep.Add(Row{Section: "5", Measure: "RSS of the idle GUI (`parlo` on Xvfb, 10 s after its window appeared) (MB)",
		Parlo:     fmt.Sprintf("%.0f (peak %.0f; idle CPU %.1f %% of a core)", mb(mem.RSS), mb(mem.Peak), (cpu1-cpu0)/5*100),
		Reference: "— (no target in the issue)", Ratio: "—", Target: "—", Verdict: NoGoal})
}

// parloBinary is the desktop app to run: $PARLO_BIN (make bench builds
// it), else one built now.
func parloBinary(b *testing.B, cfg config) string {
	b.Helper()
	if bin := os.Getenv("PARLO_BIN"); bin != "" {
		return bin
	}
	bin := filepath.Join(b.TempDir(), "parlo")
	cmd := exec.Command("go", "build", "-o", bin, ".")
	cmd.Dir = cfg.moduleRoot
	if out, err := cmd.CombinedOutput(); err != nil {
		b.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}
