package ui

import (
	"context"
	"fmt"
	"image"
	"image/color"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/parlo-voip/parlo/callengine"
	"github.com/parlo-voip/parlo/capture"
)

// fakeEngine is a scripted engine: methods record what the GUI asked and
// change call state like the real one; tests emit events with emit.
type fakeEngine struct {
	mu       sync.Mutex
	subs     []*fakeStream
	calls    map[string]*callengine.CallSession
	order    []string
	log      []string
	next     int
	monitors []capture.Monitor
	thumbs   int
	video    map[string]*fakeFrames
	// callErr, when set, is returned by Call.
	callErr error
	// dnd, autoAnswer, answerMode are what SetDoNotDisturb/SetAutoAnswer set.
	dnd, autoAnswer, answerMode bool
	// shareTimeout is how long the last StartScreenSharing was given.
	shareTimeout time.Duration
	// shareLimits is what SetShareLimits set last.
	shareLimits callengine.ShareLimits
}

func (f *fakeEngine) SetShareLimits(l callengine.ShareLimits) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.shareLimits = l
}

func (f *fakeEngine) SetDoNotDisturb(on bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.dnd = on
}

func (f *fakeEngine) SetAutoAnswer(always, honour bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.autoAnswer, f.answerMode = always, honour
}

func (f *fakeEngine) dndOn() bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.dnd
}

func newFakeEngine() *fakeEngine {
	return &fakeEngine{
		calls: map[string]*callengine.CallSession{},
		video: map[string]*fakeFrames{},
		monitors: []capture.Monitor{
			{Index: 0, Name: "DUMMY0", Width: 1920, Height: 1080, Primary: true},
			{Index: 1, Name: "DUMMY1", X: 1920, Width: 1280, Height: 720},
		},
	}
}

// record notes a method call.
func (f *fakeEngine) record(format string, a ...any) {
	f.mu.Lock()
	f.log = append(f.log, fmt.Sprintf(format, a...))
	f.mu.Unlock()
}

// logged returns the method calls so far.
func (f *fakeEngine) logged() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.log)
}

func (f *fakeEngine) has(entry string) bool { return slices.Contains(f.logged(), entry) }

// emit sends an event with a copy of call id's session to every subscriber.
func (f *fakeEngine) emit(name, id string, payload callengine.EventPayload) {
	f.mu.Lock()
	var s *callengine.CallSession
	if c := f.calls[id]; c != nil {
		cp := *c
		s = &cp
	}
	subs := slices.Clone(f.subs)
	f.mu.Unlock()
	for _, sub := range subs {
		sub.push(callengine.Event{Name: name, Session: s, Payload: payload})
	}
}

// change edits call id's session, then emits name.
func (f *fakeEngine) change(id, name string, edit func(s *callengine.CallSession)) {
	f.mu.Lock()
	if c := f.calls[id]; c != nil && edit != nil {
		edit(c)
	}
	f.mu.Unlock()
	f.emit(name, id, nil)
}

// incoming makes a ringing incoming call and emits onCallIncoming.
func (f *fakeEngine) incoming(name, number string) string {
	f.mu.Lock()
	f.next++
	id := fmt.Sprintf("in-%d", f.next)
	f.calls[id] = &callengine.CallSession{
		SipCallID: id, DisplayName: name, Number: number, Ringing: true,
		SipStatus: callengine.SipStatusInitial, CreationTime: time.Now(),
	}
	f.order = append(f.order, id)
	f.mu.Unlock()
	f.emit(callengine.EventCallIncoming, id, nil)
	return id
}

func (f *fakeEngine) establish(id string) {
	f.change(id, callengine.EventCallAccepted, func(s *callengine.CallSession) {
		now := time.Now()
		s.Answered, s.Ringing, s.SipStatus, s.AnswerTime = true, false, callengine.SipStatusEstablished, &now
	})
}

func (f *fakeEngine) end(id string) {
	f.change(id, callengine.EventCallEnded, func(s *callengine.CallSession) {
		now := time.Now()
		s.SipStatus, s.EndTime, s.Ringing = callengine.SipStatusTerminated, &now, false
	})
}

func (f *fakeEngine) Register(context.Context) error   { f.record("Register"); return nil }
func (f *fakeEngine) Unregister(context.Context) error { f.record("Unregister"); return nil }

func (f *fakeEngine) Call(_ context.Context, target string, _ callengine.CallOptions) (*callengine.CallSession, error) {
	f.record("Call %s", target)
	if f.callErr != nil {
		return nil, f.callErr
	}
	f.mu.Lock()
	f.next++
	id := fmt.Sprintf("out-%d", f.next)
	s := &callengine.CallSession{SipCallID: id, Number: target, IsCaller: true,
		SipStatus: callengine.SipStatusEstablishing, CreationTime: time.Now()}
	f.calls[id] = s
	f.order = append(f.order, id)
	cp := *s
	f.mu.Unlock()
	f.emit(callengine.EventCallOutgoing, id, nil)
	return &cp, nil
}

func (f *fakeEngine) Accept(_ context.Context, id string) error {
	f.record("Accept %s", id)
	f.establish(id)
	return nil
}

func (f *fakeEngine) Reject(_ context.Context, id string, code int) error {
	f.record("Reject %s %d", id, code)
	f.end(id)
	return nil
}

func (f *fakeEngine) Hangup(_ context.Context, id string) error {
	f.record("Hangup %s", id)
	f.end(id)
	return nil
}

func (f *fakeEngine) Hold(_ context.Context, id string) error {
	f.record("Hold %s", id)
	f.change(id, callengine.EventCallHeld, func(s *callengine.CallSession) { s.Paused = true })
	return nil
}

func (f *fakeEngine) Resume(_ context.Context, id string) error {
	f.record("Resume %s", id)
	f.change(id, callengine.EventCallResumed, func(s *callengine.CallSession) { s.Paused = false })
	return nil
}

func (f *fakeEngine) Mute(id string) error {
	f.record("Mute %s", id)
	f.change(id, callengine.EventCallMuted, func(s *callengine.CallSession) { s.Muted = true })
	return nil
}

func (f *fakeEngine) Unmute(id string) error {
	f.record("Unmute %s", id)
	f.change(id, callengine.EventCallUnmuted, func(s *callengine.CallSession) { s.Muted = false })
	return nil
}

func (f *fakeEngine) Calls() []*callengine.CallSession {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []*callengine.CallSession
	for _, id := range f.order {
		if s := f.calls[id]; s != nil && s.SipStatus != callengine.SipStatusTerminated {
			cp := *s
			out = append(out, &cp)
		}
	}
	return out
}

func (f *fakeEngine) ContactURI() string { return "sip:parlo@192.0.2.10:5060" }

func (f *fakeEngine) Subscribe() EventStream {
	s := newFakeStream()
	f.mu.Lock()
	f.subs = append(f.subs, s)
	f.mu.Unlock()
	return s
}

// Sharer: StartScreenSharing only records; the test decides when the
// engine "says" the share started.
func (f *fakeEngine) StartScreenSharing(ctx context.Context, id string, mon int) error {
	if d, ok := ctx.Deadline(); ok {
		f.mu.Lock()
		f.shareTimeout = time.Until(d)
		f.mu.Unlock()
	}
	f.record("StartScreenSharing %s %d", id, mon)
	return nil
}

func (f *fakeEngine) StopScreenSharing(_ context.Context, id string) error {
	f.record("StopScreenSharing %s", id)
	return nil
}

func (f *fakeEngine) Monitors() ([]capture.Monitor, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.monitors), nil
}

func (f *fakeEngine) Thumbnail(mon, maxW, maxH int) (image.Image, error) {
	f.mu.Lock()
	f.thumbs++
	n := f.thumbs
	f.mu.Unlock()
	return testPicture(maxW, maxH, mon, n), nil
}

func (f *fakeEngine) thumbnailCalls() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.thumbs
}

func (f *fakeEngine) RemoteVideo(id string) (FrameSource, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	v, ok := f.video[id]
	return v, ok
}

func (f *fakeEngine) setVideo(id string, fr *fakeFrames) {
	f.mu.Lock()
	f.video[id] = fr
	f.mu.Unlock()
}

// fakeFrames is a latest-frame source.
type fakeFrames struct {
	mu  sync.Mutex
	img image.Image
	seq uint64
}

func (v *fakeFrames) put(img image.Image) {
	v.mu.Lock()
	v.img = img
	v.seq++
	v.mu.Unlock()
}

func (v *fakeFrames) Latest() (image.Image, uint64) {
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.img, v.seq
}

// fakeStream is an unbounded in-order event stream.
type fakeStream struct {
	mu     sync.Mutex
	queue  []callengine.Event
	ch     chan callengine.Event
	wake   chan struct{}
	done   chan struct{}
	once   sync.Once
	closed chan struct{}
}

func newFakeStream() *fakeStream {
	s := &fakeStream{ch: make(chan callengine.Event), wake: make(chan struct{}, 1),
		done: make(chan struct{}), closed: make(chan struct{})}
	go s.pump()
	return s
}

func (s *fakeStream) push(ev callengine.Event) {
	s.mu.Lock()
	s.queue = append(s.queue, ev)
	s.mu.Unlock()
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

func (s *fakeStream) pump() {
	defer close(s.closed)
	defer close(s.ch)
	for {
		s.mu.Lock()
		batch := s.queue
		s.queue = nil
		s.mu.Unlock()
		for _, ev := range batch {
			select {
			case s.ch <- ev:
			case <-s.done:
				return
			}
		}
		select {
		case <-s.wake:
		case <-s.done:
			return
		}
	}
}

func (s *fakeStream) C() <-chan callengine.Event { return s.ch }

func (s *fakeStream) Close() {
	s.once.Do(func() { close(s.done) })
	<-s.closed
}

// memSecrets is an in-memory SecretStore; err, when set, fails every call
// as a missing OS keyring would.
type memSecrets struct {
	mu  sync.Mutex
	m   map[string]string
	err error
}

func (m *memSecrets) Get(a string) (string, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.err != nil {
		return "", m.err
	}
	return m.m[a], nil
}

func (m *memSecrets) Set(a, p string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.err != nil {
		return m.err
	}
	if m.m == nil {
		m.m = map[string]string{}
	}
	m.m[a] = p
	return nil
}

func (m *memSecrets) Delete(a string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.err != nil {
		return m.err
	}
	delete(m.m, a)
	return nil
}

// testPicture draws a recognisable fake desktop: a coloured background per
// monitor, a title bar, windows and a moving block driven by n.
func testPicture(w, h, mon, n int) image.Image {
	img := image.NewNRGBA(image.Rect(0, 0, w, h))
	bgs := []color.NRGBA{{0x1E, 0x3A, 0x8A, 0xFF}, {0x0F, 0x76, 0x6E, 0xFF}, {0x6B, 0x21, 0xA8, 0xFF}}
	bg := bgs[mon%len(bgs)]
	fill := func(r image.Rectangle, c color.NRGBA) {
		r = r.Intersect(img.Bounds())
		for y := r.Min.Y; y < r.Max.Y; y++ {
			for x := r.Min.X; x < r.Max.X; x++ {
				img.SetNRGBA(x, y, c)
			}
		}
	}
	for y := 0; y < h; y++ { // vertical gradient
		c := bg
		c.R = uint8(int(bg.R) + (40*y)/max(h, 1))
		c.G = uint8(int(bg.G) + (40*y)/max(h, 1))
		fill(image.Rect(0, y, w, y+1), c)
	}
	fill(image.Rect(0, 0, w, h/24+1), color.NRGBA{0x20, 0x20, 0x24, 0xFF})
	win := image.Rect(w/10, h/6, w*6/10, h*7/10)
	fill(win, color.NRGBA{0xF5, 0xF5, 0xF4, 0xFF})
	fill(image.Rect(win.Min.X, win.Min.Y, win.Max.X, win.Min.Y+h/20+1), color.NRGBA{0xD6, 0xD3, 0xD1, 0xFF})
	for i := 0; i < 6; i++ { // text lines
		y := win.Min.Y + h/12 + i*h/22
		fill(image.Rect(win.Min.X+w/40, y, win.Min.X+w/40+(win.Dx()*(5+i%3))/9, y+h/60+1), color.NRGBA{0x78, 0x71, 0x6C, 0xFF})
	}
	win2 := image.Rect(w*5/10, h*3/10, w*9/10, h*17/20)
	fill(win2, color.NRGBA{0x29, 0x25, 0x24, 0xFF})
	x := win2.Min.X + (n*w/30)%max(win2.Dx()-w/10, 1)
	fill(image.Rect(x, win2.Min.Y+h/10, x+w/10, win2.Min.Y+h/10+h/8), color.NRGBA{0xFB, 0xBF, 0x24, 0xFF})
	return img
}

// Call control (callcontrol.go): the fake records and changes state as the
// real engine would; tests emit the events that follow.

func (f *fakeEngine) SendDTMF(_ context.Context, id, tones string) error {
	f.record("SendDTMF %s %s", id, tones)
	return nil
}

// Transfer succeeds and ends the call, as a blind transfer does.
func (f *fakeEngine) Transfer(_ context.Context, id, target string) error {
	f.record("Transfer %s %s", id, target)
	f.end(id)
	return nil
}

// StartAttendedTransfer holds the call and places the consultation call.
func (f *fakeEngine) StartAttendedTransfer(ctx context.Context, id, target string) (*callengine.CallSession, error) {
	f.record("StartAttendedTransfer %s %s", id, target)
	f.change(id, callengine.EventCallHeld, func(s *callengine.CallSession) { s.Paused = true })
	return f.Call(ctx, target, callengine.CallOptions{})
}

func (f *fakeEngine) CompleteAttendedTransfer(_ context.Context, id, consult string) error {
	f.record("CompleteAttendedTransfer %s %s", id, consult)
	f.end(id)
	return nil
}

func (f *fakeEngine) CancelAttendedTransfer(ctx context.Context, id, consult string) error {
	f.record("CancelAttendedTransfer %s %s", id, consult)
	f.end(consult)
	f.change(id, callengine.EventCallResumed, func(s *callengine.CallSession) { s.Paused = false })
	return nil
}

func (f *fakeEngine) AcceptTransfer(_ context.Context, id string) error {
	f.record("AcceptTransfer %s", id)
	f.emit(callengine.EventTransferRequestEnded, id, callengine.TransferRequestEndedPayload{Accepted: true})
	return nil
}

func (f *fakeEngine) DeclineTransfer(_ context.Context, id string) error {
	f.record("DeclineTransfer %s", id)
	f.emit(callengine.EventTransferRequestEnded, id, callengine.TransferRequestEndedPayload{Reason: "the user declined the transfer"})
	return nil
}

func (f *fakeEngine) SendChat(_ context.Context, id, text string) error {
	f.record("SendChat %s %s", id, text)
	return nil
}

func (f *fakeEngine) StartNetworkMonitoring(id string, interval time.Duration) error {
	f.record("StartNetworkMonitoring %s %s", id, interval)
	return nil
}

func (f *fakeEngine) StopNetworkMonitoring(id string) error {
	f.record("StopNetworkMonitoring %s", id)
	return nil
}

// Merge marks the calls as in conference, as the engine does.
func (f *fakeEngine) Merge(_ context.Context, ids ...string) error {
	f.record("Merge %s", strings.Join(ids, " "))
	for _, id := range ids {
		f.change(id, callengine.EventCallMerged, func(s *callengine.CallSession) { s.Conference, s.Paused = true, false })
	}
	return nil
}

func (f *fakeEngine) Unmerge(_ context.Context, id string, hold bool) error {
	f.record("Unmerge %s %v", id, hold)
	f.change(id, callengine.EventCallUnmerged, func(s *callengine.CallSession) { s.Conference, s.Paused = false, hold })
	return nil
}

func (f *fakeEngine) StartRecording(id string, o callengine.RecordingOptions) (string, error) {
	f.record("StartRecording %s", id)
	f.change(id, callengine.EventRecordingStarted, func(s *callengine.CallSession) { s.Recording = true })
	return o.Dir + "/rec.ogg", nil
}

func (f *fakeEngine) PauseRecording(id string) error {
	f.record("PauseRecording %s", id)
	f.change(id, callengine.EventRecordingPaused, func(s *callengine.CallSession) { s.RecordingPaused = true })
	return nil
}

func (f *fakeEngine) ResumeRecording(id string) error {
	f.record("ResumeRecording %s", id)
	f.change(id, callengine.EventRecordingResumed, func(s *callengine.CallSession) { s.RecordingPaused = false })
	return nil
}

func (f *fakeEngine) StopRecording(id string) error {
	f.record("StopRecording %s", id)
	f.mu.Lock()
	if c := f.calls[id]; c != nil {
		c.Recording, c.RecordingPaused = false, false
	}
	f.mu.Unlock()
	f.emit(callengine.EventRecordingStopped, id, callengine.RecordingPayload{Path: "/tmp/rec.ogg"})
	return nil
}
