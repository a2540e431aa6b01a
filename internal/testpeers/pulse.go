package testpeers

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// Pulse is a PulseAudio 16 server in user mode with no sound card: two
// null sinks stand for the speaker and for the air in front of the
// microphone, and the microphone is a source reading that air. What is
// played into MicWire is what the microphone hears; Echo adds the speaker
// to it, delayed and attenuated, like a laptop's speakers and microphone.
//
//	SinkSpeaker  "parlo_speaker"   the default sink
//	SinkSpeaker2 "parlo_headset"   a second sink, for device switching
//	SinkMicWire  "parlo_air"       what the microphone hears
//	SourceMic    "parlo_mic"       the default source (remap of parlo_air.monitor)
//
// Clients reach it through Env() (PULSE_SERVER); miniaudio's PulseAudio
// backend, and so Parlo's device I/O, honours it.
type Pulse struct {
	dir    string
	socket string
	proc   *process
}

// Names of the devices StartPulse creates.
const (
	SinkSpeaker  = "parlo_speaker"
	SinkSpeaker2 = "parlo_headset"
	SinkMicWire  = "parlo_air"
	SourceMic    = "parlo_mic"
)

// StartPulse starts the server; tb.Cleanup stops it.
func StartPulse(tb testing.TB) *Pulse {
	tb.Helper()
	Require(tb, "pulseaudio", "pactl", "pacat")
	// Short: a unix socket path is limited to 108 bytes.
	dir, err := os.MkdirTemp("", "pa")
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { os.RemoveAll(dir) })
	p := &Pulse{dir: dir, socket: filepath.Join(dir, "native")}
	conf := fmt.Sprintf(`load-module module-native-protocol-unix socket=%s auth-anonymous=1
load-module module-null-sink sink_name=%s rate=48000 channels=1 sink_properties=device.description=Speaker
load-module module-null-sink sink_name=%s rate=48000 channels=1 sink_properties=device.description=Headset
load-module module-null-sink sink_name=%s rate=48000 channels=1 sink_properties=device.description=Air
load-module module-remap-source master=%s.monitor source_name=%s source_properties=device.description=Microphone
set-default-sink %s
set-default-source %s
`, p.socket, SinkSpeaker, SinkSpeaker2, SinkMicWire, SinkMicWire, SourceMic, SinkSpeaker, SourceMic)
	confPath := filepath.Join(dir, "parlo.pa")
	if err := os.WriteFile(confPath, []byte(conf), 0o600); err != nil {
		tb.Fatal(err)
	}
	env := append(os.Environ(), "HOME="+dir, "XDG_RUNTIME_DIR="+dir, "PULSE_RUNTIME_PATH="+dir, "XDG_CONFIG_HOME="+dir)
	// -n: no default.pa; no daemonising, no idle exit, no pid file in $HOME.
	proc, err := startProcess("pulseaudio", []string{"-n", "-F", confPath, "--daemonize=no",
		"--exit-idle-time=-1", "--use-pid-file=no", "--log-target=stderr", "--disable-shm=yes"}, dir, env)
	if err != nil {
		tb.Fatalf("testpeers: %v", err)
	}
	p.proc = proc
	tb.Cleanup(func() { proc.stop(3 * time.Second) })
	deadline := time.Now().Add(15 * time.Second)
	for {
		if _, err := p.pactl("info"); err == nil {
			return p
		}
		if proc.exited() || time.Now().After(deadline) {
			tb.Fatalf("testpeers: pulseaudio did not start\n%s", proc.log.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// Server is the PULSE_SERVER value.
func (p *Pulse) Server() string { return "unix:" + p.socket }

// Env is what a child process needs to use this server.
func (p *Pulse) Env() []string {
	return []string{"PULSE_SERVER=" + p.Server(), "HOME=" + p.dir, "XDG_RUNTIME_DIR=" + p.dir}
}

func (p *Pulse) command(ctx context.Context, name string, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Env = append(os.Environ(), p.Env()...)
	return cmd
}

func (p *Pulse) pactl(args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	out, err := p.command(ctx, "pactl", args...).CombinedOutput()
	if err != nil {
		return string(out), fmt.Errorf("pactl %s: %w: %s", strings.Join(args, " "), err, out)
	}
	return string(out), nil
}

// Pactl runs pactl against the server and returns its output.
func (p *Pulse) Pactl(tb testing.TB, args ...string) string {
	tb.Helper()
	out, err := p.pactl(args...)
	if err != nil {
		tb.Fatal(err)
	}
	return out
}

// Sinks lists the sink names pactl reports.
func (p *Pulse) Sinks(tb testing.TB) []string {
	tb.Helper()
	return p.names(tb, "sinks")
}

// Sources lists the source names pactl reports.
func (p *Pulse) Sources(tb testing.TB) []string {
	tb.Helper()
	return p.names(tb, "sources")
}

func (p *Pulse) names(tb testing.TB, what string) []string {
	tb.Helper()
	var list []struct {
		Name string `json:"name"`
	}
	if err := json.Unmarshal([]byte(p.Pactl(tb, "-f", "json", "list", "short", what)), &list); err != nil {
		tb.Fatalf("pactl list %s: %v", what, err)
	}
	var out []string
	for _, l := range list {
		out = append(out, l.Name)
	}
	return out
}

// LoadModule loads a module and returns its index.
func (p *Pulse) LoadModule(tb testing.TB, name string, args ...string) int {
	tb.Helper()
	out := p.Pactl(tb, append([]string{"load-module", name}, args...)...)
	idx, err := strconv.Atoi(strings.TrimSpace(out))
	if err != nil {
		tb.Fatalf("load-module %s: %q", name, out)
	}
	return idx
}

// UnloadModule unloads module idx.
func (p *Pulse) UnloadModule(tb testing.TB, idx int) {
	tb.Helper()
	p.Pactl(tb, "unload-module", strconv.Itoa(idx))
}

// SinkModule is the index of the module that owns sink name (to unplug it).
func (p *Pulse) SinkModule(tb testing.TB, name string) int {
	tb.Helper()
	var list []struct {
		Name string `json:"name"`
		// A number here, a string in sink-inputs.
		OwnerModule json.RawMessage `json:"owner_module"`
	}
	if err := json.Unmarshal([]byte(p.Pactl(tb, "-f", "json", "list", "sinks")), &list); err != nil {
		tb.Fatal(err)
	}
	for _, s := range list {
		if s.Name == name {
			idx, err := strconv.Atoi(strings.Trim(string(s.OwnerModule), `"`))
			if err != nil {
				tb.Fatalf("sink %s owner %q", name, s.OwnerModule)
			}
			return idx
		}
	}
	tb.Fatalf("no sink %s", name)
	return -1
}

// Echo plays the speaker into the microphone after latencyMs, attenuated
// by gainDB (negative): the acoustic echo path of a laptop. It returns
// the loopback module's index.
func (p *Pulse) Echo(tb testing.TB, latencyMs int, gainDB float64) int {
	tb.Helper()
	idx := p.LoadModule(tb, "module-loopback", "source="+SinkSpeaker+".monitor", "sink="+SinkMicWire,
		"latency_msec="+strconv.Itoa(latencyMs), "source_dont_move=true", "sink_dont_move=true",
		// One sound card has one clock: no rate adaptation, a fixed path.
		"adjust_time=0")
	var inputs []struct {
		Index       int    `json:"index"`
		OwnerModule string `json:"owner_module"`
	}
	if err := json.Unmarshal([]byte(p.Pactl(tb, "-f", "json", "list", "sink-inputs")), &inputs); err != nil {
		tb.Fatal(err)
	}
	for _, in := range inputs {
		if in.OwnerModule == strconv.Itoa(idx) {
			p.Pactl(tb, "set-sink-input-volume", strconv.Itoa(in.Index), fmt.Sprintf("%.1fdB", gainDB))
			return idx
		}
	}
	tb.Fatalf("loopback module %d has no sink input", idx)
	return -1
}

// FrameSource is a mono 48 kHz PCM source read 20 ms at a time (the
// shape of callengine/audio.Source, which this package cannot import: the
// audio package's own tests use it).
type FrameSource interface {
	ReadFrame(frame []int16) error
}

// pulseFrameSamples is 20 ms at Play's 48 kHz.
const pulseFrameSamples = 960

// s16leReader streams a FrameSource as raw S16LE, for pacat.
type s16leReader struct {
	src FrameSource
	buf []byte
}

func (r *s16leReader) Read(p []byte) (int, error) {
	if len(r.buf) == 0 {
		f := make([]int16, pulseFrameSamples)
		if err := r.src.ReadFrame(f); err != nil {
			return 0, err
		}
		r.buf = make([]byte, 2*len(f))
		for i, v := range f {
			binary.LittleEndian.PutUint16(r.buf[2*i:], uint16(v))
		}
	}
	n := copy(p, r.buf)
	r.buf = r.buf[n:]
	return n, nil
}

// Play streams src (mono 48 kHz) into sink until src ends or the test ends.
func (p *Pulse) Play(tb testing.TB, sink string, src FrameSource) {
	tb.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	cmd := p.command(ctx, "pacat", "--playback", "-d", sink, "--raw", "--format=s16le", "--rate=48000",
		"--channels=1", "--latency-msec=20")
	cmd.Stdin = &s16leReader{src: src}
	var log bytes.Buffer
	cmd.Stderr = &log
	if err := cmd.Start(); err != nil {
		cancel()
		tb.Fatalf("pacat: %v", err)
	}
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	tb.Cleanup(func() { cancel(); <-done })
}

// Record captures source (a sink's monitor is "<sink>.monitor") as mono
// 48 kHz until the test ends.
func (p *Pulse) Record(tb testing.TB, source string) *PulseRecording {
	tb.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	cmd := p.command(ctx, "parec", "-d", source, "--raw", "--format=s16le", "--rate=48000",
		"--channels=1", "--latency-msec=20")
	out, err := cmd.StdoutPipe()
	if err != nil {
		cancel()
		tb.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		cancel()
		tb.Fatalf("parec: %v", err)
	}
	r := &PulseRecording{}
	done := make(chan struct{})
	go func() {
		defer close(done)
		buf := make([]byte, 4800)
		var odd []byte
		for {
			n, err := out.Read(buf)
			b := append(odd, buf[:n]...)
			k := len(b) &^ 1
			r.mu.Lock()
			for i := 0; i < k; i += 2 {
				r.pcm = append(r.pcm, int16(binary.LittleEndian.Uint16(b[i:])))
			}
			r.mu.Unlock()
			odd = append([]byte(nil), b[k:]...)
			if err != nil {
				return
			}
		}
	}()
	tb.Cleanup(func() { cancel(); <-done; _ = cmd.Wait() })
	return r
}

// PulseRecording is what Record has captured so far.
type PulseRecording struct {
	mu  sync.Mutex
	pcm []int16
}

// Last returns the last d of the recording (less if it is shorter).
func (r *PulseRecording) Last(d time.Duration) []int16 {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := min(len(r.pcm), int(d.Seconds()*48000))
	return append([]int16(nil), r.pcm[len(r.pcm)-n:]...)
}

// Len is how many samples were recorded.
func (r *PulseRecording) Len() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.pcm)
}
