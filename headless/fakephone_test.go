package headless

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/parlo-voip/parlo/callengine"
	"github.com/parlo-voip/parlo/callengine/media"
	"github.com/parlo-voip/parlo/callengine/presence"
	"github.com/parlo-voip/parlo/capture"
)

// fakePhone records what the dispatcher asked of it. Known call ids are in
// calls; any other id fails like the engine does (ErrNoSuchCall).
type fakePhone struct {
	mu    sync.Mutex
	log   []string
	calls map[string]*callengine.CallSession
	// block, when set, makes Hold wait until it is closed (or ctx ends).
	block chan struct{}
	// noFrame lists calls that have decoded no remote video yet.
	noFrame map[string]bool
	// watches and presence are the lamp commands' (fakelamps_test.go).
	watches  []callengine.WatchState
	presence presence.Status
}

// fakeMonitors is the fake's desktop: the two-monitor dummy layout.
var fakeMonitors = []capture.Monitor{
	{Index: 0, Name: "DUMMY0", Width: 1920, Height: 1080, Primary: true, Display: ":9"},
	{Index: 1, Name: "DUMMY1", X: 1920, Width: 1280, Height: 720, Display: ":9"},
}

func newFakePhone(ids ...string) *fakePhone {
	f := &fakePhone{calls: map[string]*callengine.CallSession{}, noFrame: map[string]bool{}}
	for _, id := range ids {
		f.calls[id] = &callengine.CallSession{SipCallID: id, Type: "CallSession", SipStatus: callengine.SipStatusEstablished}
	}
	return f
}

func (f *fakePhone) record(format string, args ...any) {
	f.mu.Lock()
	f.log = append(f.log, fmt.Sprintf(format, args...))
	f.mu.Unlock()
}

func (f *fakePhone) recorded() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.log...)
}

func (f *fakePhone) lookup(id string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.calls[id] == nil {
		return fmt.Errorf("%w: %q", callengine.ErrNoSuchCall, id)
	}
	return nil
}

func (f *fakePhone) Call(_ context.Context, target string, _ callengine.CallOptions) (*callengine.CallSession, error) {
	f.record("Call %s", target)
	if !strings.HasPrefix(target, "sip:") {
		return nil, fmt.Errorf("%w: %q", callengine.ErrBadURI, target)
	}
	s := &callengine.CallSession{SipCallID: "new-1", IsCaller: true, Type: "CallSession", SipStatus: callengine.SipStatusEstablishing}
	f.mu.Lock()
	f.calls[s.SipCallID] = s
	f.mu.Unlock()
	return s, nil
}

func (f *fakePhone) Accept(_ context.Context, id string) error {
	f.record("Accept %s", id)
	return f.lookup(id)
}

func (f *fakePhone) Reject(_ context.Context, id string, code int) error {
	f.record("Reject %s %d", id, code)
	return f.lookup(id)
}

func (f *fakePhone) Hangup(_ context.Context, id string) error {
	f.record("Hangup %s", id)
	if err := f.lookup(id); err != nil {
		return err
	}
	f.mu.Lock()
	delete(f.calls, id)
	f.mu.Unlock()
	return nil
}

func (f *fakePhone) Hold(ctx context.Context, id string) error {
	f.record("Hold %s", id)
	if f.block != nil {
		select {
		case <-f.block:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return f.lookup(id)
}

func (f *fakePhone) Resume(_ context.Context, id string) error {
	f.record("Resume %s", id)
	return f.lookup(id)
}

func (f *fakePhone) Mute(id string) error {
	f.record("Mute %s", id)
	return f.lookup(id)
}

func (f *fakePhone) Unmute(id string) error {
	f.record("Unmute %s", id)
	return f.lookup(id)
}

func (f *fakePhone) Calls() []*callengine.CallSession {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []*callengine.CallSession
	for _, s := range f.calls {
		c := *s
		out = append(out, &c)
	}
	return out
}

func (f *fakePhone) Stats(id string) (media.Stats, error) {
	f.record("Stats %s", id)
	if err := f.lookup(id); err != nil {
		return media.Stats{}, err
	}
	return media.Stats{
		Path: "webrtc", SRTP: "dtls",
		Audio: media.AudioStats{Codec: "opus", PacketsSent: 7, PacketsReceived: 5, BytesReceived: 400},
		Video: media.VideoStats{
			Sent:     media.VideoSentStats{Codec: "VP8", Frames: 90, Bytes: 123456, Width: 1280, Height: 720, FPS: 29.5},
			Received: media.VideoReceivedStats{Codec: "VP8", FramesDecoded: 61, Width: 1920, Height: 1080, FPS: 30},
		},
	}, nil
}

func (f *fakePhone) Monitors() ([]capture.Monitor, error) {
	f.record("Monitors")
	return append([]capture.Monitor(nil), fakeMonitors...), nil
}

func (f *fakePhone) StartScreenSharing(_ context.Context, id string, monitor int) error {
	f.record("Share %s %d", id, monitor)
	if err := f.lookup(id); err != nil {
		return err
	}
	if monitor >= len(fakeMonitors) {
		return fmt.Errorf("%w: no monitor %d (have %d)", capture.ErrMonitorGone, monitor, len(fakeMonitors))
	}
	f.mu.Lock()
	f.calls[id].Screensharing = true
	f.mu.Unlock()
	return nil
}

func (f *fakePhone) StopScreenSharing(_ context.Context, id string) error {
	f.record("Unshare %s", id)
	if err := f.lookup(id); err != nil {
		return err
	}
	f.mu.Lock()
	f.calls[id].Screensharing = false
	f.mu.Unlock()
	return nil
}

// SnapshotPNG writes no file (the fuzzer would scatter them), it only says
// what the engine would.
func (f *fakePhone) SnapshotPNG(id, path string) (int, int, error) {
	f.record("Snapshot %s %s", id, path)
	if err := f.lookup(id); err != nil {
		return 0, 0, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.noFrame[id] {
		return 0, 0, fmt.Errorf("%w: no remote video frame decoded yet", callengine.ErrInvalidState)
	}
	return 1280, 720, nil
}

func (f *fakePhone) SendDTMF(_ context.Context, id, tones string) error {
	f.record("DTMF %s %s", id, tones)
	return f.lookup(id)
}

// AcceptTransfer records the consent.
func (f *fakePhone) AcceptTransfer(_ context.Context, id string) error {
	f.record("AcceptTransfer %s", id)
	return nil
}

// DeclineTransfer records the refusal.
func (f *fakePhone) DeclineTransfer(_ context.Context, id string) error {
	f.record("DeclineTransfer %s", id)
	return nil
}

// Transfer ends the call, as a successful blind transfer does.
func (f *fakePhone) Transfer(_ context.Context, id, target string) error {
	f.record("Transfer %s %s", id, target)
	if err := f.lookup(id); err != nil {
		return err
	}
	if !strings.HasPrefix(target, "sip:") {
		return fmt.Errorf("%w: %q", callengine.ErrBadURI, target)
	}
	f.mu.Lock()
	delete(f.calls, id)
	f.mu.Unlock()
	return nil
}

func (f *fakePhone) StartAttendedTransfer(_ context.Context, id, target string) (*callengine.CallSession, error) {
	f.record("Atxfer %s %s", id, target)
	if err := f.lookup(id); err != nil {
		return nil, err
	}
	s := &callengine.CallSession{SipCallID: "consult-1", IsCaller: true, Type: "CallSession", SipStatus: callengine.SipStatusEstablishing}
	f.mu.Lock()
	f.calls[id].Paused = true
	f.calls[s.SipCallID] = s
	f.mu.Unlock()
	c := *s
	return &c, nil
}

func (f *fakePhone) CompleteAttendedTransfer(_ context.Context, id, consult string) error {
	f.record("AtxferComplete %s %s", id, consult)
	if err := f.lookup(id); err != nil {
		return err
	}
	if err := f.lookup(consult); err != nil {
		return err
	}
	f.mu.Lock()
	delete(f.calls, id)
	f.mu.Unlock()
	return nil
}

func (f *fakePhone) CancelAttendedTransfer(_ context.Context, id, consult string) error {
	f.record("AtxferCancel %s %s", id, consult)
	if err := f.lookup(id); err != nil {
		return err
	}
	f.mu.Lock()
	delete(f.calls, consult)
	f.calls[id].Paused = false
	f.mu.Unlock()
	return nil
}

func (f *fakePhone) SendMessage(_ context.Context, id, target, contentType string, body []byte) error {
	f.record("Message call=%s to=%s %s %q", id, target, contentType, body)
	if id != "" {
		return f.lookup(id)
	}
	return nil
}

func (f *fakePhone) SendChat(_ context.Context, id, text string) error {
	f.record("Chat %s %q", id, text)
	return f.lookup(id)
}

// SendSignal records the content as the engine would encode it.
func (f *fakePhone) SendSignal(_ context.Context, id string, content any) error {
	b, err := json.Marshal(content)
	if err != nil {
		return err
	}
	f.record("Signal %s %s", id, b)
	return f.lookup(id)
}

func (f *fakePhone) EarlyMedia(_ context.Context, id string) error {
	f.record("Early %s", id)
	return f.lookup(id)
}

func (f *fakePhone) Ignore(id string) error {
	f.record("Ignore %s", id)
	if err := f.lookup(id); err != nil {
		return err
	}
	f.mu.Lock()
	f.calls[id].Ignored = true
	f.mu.Unlock()
	return nil
}

// StartNetworkMonitoring checks the interval like the engine (≥ 100 ms).
func (f *fakePhone) StartNetworkMonitoring(id string, interval time.Duration) error {
	f.record("Monitor %s %s", id, interval)
	if err := f.lookup(id); err != nil {
		return err
	}
	if interval < 100*time.Millisecond {
		return fmt.Errorf("%w: monitoring interval %s is below 100 ms", callengine.ErrInvalidState, interval)
	}
	return nil
}

func (f *fakePhone) StopNetworkMonitoring(id string) error {
	f.record("Unmonitor %s", id)
	return f.lookup(id)
}

func (f *fakePhone) Merge(_ context.Context, ids ...string) error {
	f.record("Merge %s", strings.Join(ids, " "))
	for _, id := range ids {
		if err := f.lookup(id); err != nil {
			return err
		}
	}
	return nil
}

func (f *fakePhone) Unmerge(_ context.Context, id string, hold bool) error {
	f.record("Unmerge %s hold=%v", id, hold)
	return f.lookup(id)
}

func (f *fakePhone) StartRecording(id string, o callengine.RecordingOptions) (string, error) {
	f.record("Record %s %s %s", id, o.Dir, o.Format)
	if err := f.lookup(id); err != nil {
		return "", err
	}
	return filepath.Join(o.Dir, "rec."+o.Format.String()), nil
}

func (f *fakePhone) PauseRecording(id string) error {
	f.record("RecordPause %s", id)
	return f.lookup(id)
}

func (f *fakePhone) ResumeRecording(id string) error {
	f.record("RecordResume %s", id)
	return f.lookup(id)
}

func (f *fakePhone) StopRecording(id string) error {
	f.record("RecordStop %s", id)
	return f.lookup(id)
}

func (f *fakePhone) Register(context.Context) error {
	f.record("Register")
	return nil
}

func (f *fakePhone) Unregister(context.Context) error {
	f.record("Unregister")
	return nil
}

// syncBuffer is a goroutine-safe output buffer.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

// text is everything written so far.
func (b *syncBuffer) text() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// lines splits the output into decoded JSON objects, failing the test on a
// line that is not one.
func (b *syncBuffer) lines(t testing.TB) []map[string]any {
	t.Helper()
	b.mu.Lock()
	text := b.buf.String()
	b.mu.Unlock()
	var out []map[string]any
	for _, l := range strings.Split(strings.TrimSuffix(text, "\n"), "\n") {
		if l == "" && text == "" {
			break
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			t.Fatalf("output line is not one JSON object: %q: %v", l, err)
		}
		out = append(out, m)
	}
	return out
}
