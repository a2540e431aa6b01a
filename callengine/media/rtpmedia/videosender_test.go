package rtpmedia

import (
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/pion/rtcp"

	"github.com/parlo-voip/parlo/capture/videocodec"
)

// recordingSource is a media.VideoSender that records what the session
// asked of it; it is the seam the real screen sender plugs into.
type recordingSource struct {
	mu        sync.Mutex
	codec     videocodec.Name
	write     func([]byte, time.Duration) error
	keyframes int
	kbps      []int
	stopped   bool
}

func (r *recordingSource) Codecs() []videocodec.Name { return videocodec.All() }
func (r *recordingSource) Start(c videocodec.Name, w func([]byte, time.Duration) error) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.codec, r.write = c, w
	return nil
}
func (r *recordingSource) RequestKeyframe() { r.mu.Lock(); r.keyframes++; r.mu.Unlock() }
func (r *recordingSource) SetBitrate(k int) { r.mu.Lock(); r.kbps = append(r.kbps, k); r.mu.Unlock() }
func (r *recordingSource) Stop()            { r.mu.Lock(); r.stopped = true; r.mu.Unlock() }
func (r *recordingSource) keyframeCount() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.keyframes
}

func TestVideoSendLifecycle(t *testing.T) {
	first := &recordingSource{}
	vs := NewVideoSend(first, VideoSendOptions{StartKbps: 1500})
	var written int
	w := func(frame []byte, _ time.Duration) error {
		if len(frame) == 0 {
			return ErrFrameDropped
		}
		written++
		return nil
	}
	running, err := vs.Replace(first, w)
	if err != nil || running {
		t.Fatalf("Replace before Start: running %v, err %v", running, err)
	}
	if err := vs.Start(videocodec.H264, w); err != nil {
		t.Fatal(err)
	}
	if first.codec != videocodec.H264 || len(first.kbps) != 1 || first.kbps[0] != 1500 {
		t.Fatalf("source started with %q at %v kbps", first.codec, first.kbps)
	}
	_ = first.write([]byte{1, 2, 3}, time.Millisecond)
	_ = first.write(nil, time.Millisecond) // dropped: not counted, no error
	second := &recordingSource{}
	running, err = vs.Replace(second, w)
	if err != nil || !running {
		t.Fatalf("Replace while running: running %v, err %v", running, err)
	}
	if !first.stopped || second.codec != videocodec.H264 {
		t.Errorf("old stopped %v, new started with %q", first.stopped, second.codec)
	}
	_ = second.write([]byte{4, 5}, time.Millisecond)
	// Past the new source's first keyframe and its hold-off.
	vs.now = func() time.Time { return time.Now().Add(time.Second) }
	vs.HandleRTCP([]rtcp.Packet{&rtcp.PictureLossIndication{}, &rtcp.FullIntraRequest{}}, 7)
	st := vs.Stats()
	if st.Frames != 2 || st.Bytes != 5 || st.KeyframeRequests != 2 || st.Codec != "H264" || written != 2 {
		t.Errorf("stats %+v, written %d", st, written)
	}
	// The FIR came while the PLI's keyframe was still to be made: one
	// keyframe answers both.
	if second.keyframes != 1 || first.keyframes != 0 {
		t.Errorf("keyframes to the running source %d, to the stopped one %d", second.keyframes, first.keyframes)
	}
	vs.Stop()
	if !second.stopped {
		t.Error("Stop did not stop the source")
	}
}

func TestVideoSendBitrate(t *testing.T) {
	const ssrc = 99
	rr := func(ssrc uint32, lost uint8) rtcp.Packet {
		return &rtcp.ReceiverReport{Reports: []rtcp.ReceptionReport{{SSRC: ssrc, FractionLost: lost, LastSequenceNumber: 100}}}
	}
	tests := []struct {
		name  string
		adapt bool
		pkts  []rtcp.Packet
		want  int
	}{
		{"no feedback handling without AdaptBitrate", false, []rtcp.Packet{rr(ssrc, 128), &rtcp.ReceiverEstimatedMaximumBitrate{Bitrate: 300e3}}, 2500},
		{"REMB caps", true, []rtcp.Packet{&rtcp.ReceiverEstimatedMaximumBitrate{Bitrate: 800e3}}, 800},
		{"REMB never raises", true, []rtcp.Packet{&rtcp.ReceiverEstimatedMaximumBitrate{Bitrate: 9e6}}, 2500},
		{"REMB floor", true, []rtcp.Packet{&rtcp.ReceiverEstimatedMaximumBitrate{Bitrate: 1e3}}, MinVideoKbps},
		{"heavy loss halves by half the loss", true, []rtcp.Packet{rr(ssrc, 64)}, 2187}, // 25 %: ×0.875
		{"no loss grows 8 %", true, []rtcp.Packet{rr(ssrc, 0)}, 2700},
		{"moderate loss holds", true, []rtcp.Packet{rr(ssrc, 13)}, 2500},
		{"another stream's report is ignored", true, []rtcp.Packet{rr(1234, 200)}, 2500},
		{"a report of no new packet is ignored", true, []rtcp.Packet{&rtcp.ReceiverReport{Reports: []rtcp.ReceptionReport{{SSRC: ssrc}}}}, 2500},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src := &recordingSource{}
			vs := NewVideoSend(src, VideoSendOptions{StartKbps: 2500, AdaptBitrate: tt.adapt})
			if err := vs.Start(videocodec.VP8, func([]byte, time.Duration) error { return nil }); err != nil {
				t.Fatal(err)
			}
			vs.HandleRTCP(tt.pkts, ssrc)
			if got := vs.Stats().BitrateKbps; got != tt.want {
				t.Errorf("target %d kbps, want %d", got, tt.want)
			}
			if last := src.kbps[len(src.kbps)-1]; last != tt.want {
				t.Errorf("source told %d kbps, want %d", last, tt.want)
			}
		})
	}
}

// TestVideoSendKeyframeHoldOff: a keyframe request is acted on once; those
// that follow while its keyframe is still to be made or on the wire (its
// size at the target rate, plus keyframeSlack) are about older pictures
// and ignored; one after that is acted on again, and so is one long after
// a keyframe that never came.
func TestVideoSendKeyframeHoldOff(t *testing.T) {
	now := time.Unix(0, 0)
	src := &recordingSource{}
	vs := NewVideoSend(src, VideoSendOptions{StartKbps: 800})
	vs.now = func() time.Time { return now }
	if err := vs.Start(videocodec.VP8, func([]byte, time.Duration) error { return nil }); err != nil {
		t.Fatal(err)
	}
	pli := []rtcp.Packet{&rtcp.PictureLossIndication{}}
	keyframe := make([]byte, 50_000) // 0.5 s at 800 kbit/s
	// The source's first frame is a keyframe too: a request before it and
	// during its hold-off is ignored.
	vs.HandleRTCP(pli, 7)
	_ = src.write(make([]byte, 100), time.Millisecond)
	vs.HandleRTCP(pli, 7)
	if src.keyframes != 0 {
		t.Fatalf("%d keyframes asked while the first frame was pending or on the wire", src.keyframes)
	}
	now = now.Add(time.Second)
	steps := []struct {
		name    string
		advance time.Duration
		send    []byte
		want    int // keyframes asked of the source so far
	}{
		{"first request", 0, nil, 1},
		{"again before the keyframe", 100 * time.Millisecond, nil, 1},
		{"keyframe sent; a request while it is on the wire", 0, keyframe, 1},
		{"still within its time on the wire and the slack", 600 * time.Millisecond, nil, 1},
		{"after it", 200 * time.Millisecond, nil, 2},
		{"the keyframe never came: a request a second later", keyframeAskTimeout, nil, 3},
	}
	for _, st := range steps {
		now = now.Add(st.advance)
		if st.send != nil {
			_ = src.write(st.send, time.Millisecond)
		}
		vs.HandleRTCP(pli, 7)
		if src.keyframes != st.want {
			t.Fatalf("%s: %d keyframes asked, want %d", st.name, src.keyframes, st.want)
		}
	}
	vs.Stop()
	if got := vs.Stats().KeyframeRequests; got != uint64(len(steps)+2) {
		t.Errorf("KeyframeRequests %d, want every request counted (%d)", got, len(steps)+2)
	}
}

// TestVideoSendAnswersHeldOffRequest: a request held off while a keyframe is
// on the wire is answered when the hold-off ends (that keyframe may have
// been lost too), once however many came.
func TestVideoSendAnswersHeldOffRequest(t *testing.T) {
	src := &recordingSource{}
	vs := NewVideoSend(src, VideoSendOptions{StartKbps: 4000})
	defer vs.Stop()
	if err := vs.Start(videocodec.VP8, func([]byte, time.Duration) error { return nil }); err != nil {
		t.Fatal(err)
	}
	_ = src.write(make([]byte, 1000), time.Millisecond) // the first keyframe: hold-off of about keyframeSlack
	pli := []rtcp.Packet{&rtcp.PictureLossIndication{}}
	vs.HandleRTCP(pli, 7)
	vs.HandleRTCP(pli, 7)
	if got := src.keyframeCount(); got != 0 {
		t.Fatalf("%d keyframes asked during the hold-off", got)
	}
	deadline := time.Now().Add(5 * time.Second)
	for src.keyframeCount() == 0 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if got := src.keyframeCount(); got != 1 {
		t.Fatalf("after the hold-off %d keyframes asked, want the held-off requests answered once", got)
	}
}

// refreshingSource is a recordingSource that can refresh.
type refreshingSource struct {
	recordingSource
	refreshed chan struct{}
}

func (r *refreshingSource) RequestRefresh() { r.refreshed <- struct{}{} }

// TestVideoSendProbesAfterKeyframe: after the first frame (a keyframe) and
// after one that answers a request, the source is asked to refresh once the
// frame should have arrived, so a receiver that lost its tail finds out;
// Stop cancels a pending probe.
func TestVideoSendProbesAfterKeyframe(t *testing.T) {
	src := &refreshingSource{refreshed: make(chan struct{}, 4)}
	vs := NewVideoSend(src, VideoSendOptions{StartKbps: 1000})
	if err := vs.Start(videocodec.VP8, func([]byte, time.Duration) error { return nil }); err != nil {
		t.Fatal(err)
	}
	waitRefresh := func(what string) {
		t.Helper()
		select {
		case <-src.refreshed:
		case <-time.After(5 * time.Second):
			t.Fatalf("%s: no refresh asked in 5 s", what)
		}
	}
	_ = src.write(make([]byte, 1250), time.Millisecond) // 10 ms at 1 Mbit/s
	waitRefresh("after the first frame")
	_ = src.write(make([]byte, 100), time.Millisecond)
	vs.now = func() time.Time { return time.Now().Add(time.Hour) } // past the hold-off
	vs.HandleRTCP([]rtcp.Packet{&rtcp.PictureLossIndication{}}, 7)
	_ = src.write(make([]byte, 1250), time.Millisecond)
	waitRefresh("after the requested keyframe")
	if n := len(src.refreshed); n != 0 {
		t.Fatalf("%d refreshes for a frame that answered no request", n)
	}
	vs.now = func() time.Time { return time.Now().Add(2 * time.Hour) }
	vs.HandleRTCP([]rtcp.Packet{&rtcp.PictureLossIndication{}}, 7)
	_ = src.write(make([]byte, 125_000), time.Millisecond) // 1 s on the wire
	vs.Stop()
	select {
	case <-src.refreshed:
		t.Fatal("a refresh was asked of a stopped source")
	case <-time.After(1200 * time.Millisecond):
	}
}

func TestVideoSendStartError(t *testing.T) {
	vs := NewVideoSend(&failingSource{}, VideoSendOptions{})
	if err := vs.Start(videocodec.VP8, nil); !errors.Is(err, errStart) {
		t.Fatalf("err %v", err)
	}
}

var errStart = errors.New("no encoder")

type failingSource struct{ recordingSource }

func (*failingSource) Start(videocodec.Name, func([]byte, time.Duration) error) error {
	return errStart
}

// TestVideoSendEstimatePacing: estimates set the target; one that comes
// down makes the pacer hold close to it (the path is the bottleneck) until
// an estimate reaches the start rate again; without AdaptBitrate nothing
// moves.
func TestVideoSendEstimatePacing(t *testing.T) {
	type step struct {
		kbps          int
		wantKbps      int
		wantCongested bool
	}
	tests := []struct {
		name  string
		adapt bool
		steps []step
	}{
		{"a dip then back over the start", true, []step{{2700, 2700, false}, {1200, 1200, true}, {2000, 2000, true}, {2500, 2500, false}}},
		{"floor and ceiling", true, []step{{10, MinVideoKbps, true}, {1e6, MaxVideoKbps, false}}},
		{"without AdaptBitrate", false, []step{{500, 2500, false}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			src := &recordingSource{}
			vs := NewVideoSend(src, VideoSendOptions{StartKbps: 2500, AdaptBitrate: tc.adapt})
			for i, st := range tc.steps {
				vs.FollowEstimate(st.kbps)
				vs.pacer.mu.Lock()
				congested := vs.pacer.congested
				vs.pacer.mu.Unlock()
				if got := vs.Stats().BitrateKbps; got != st.wantKbps || congested != st.wantCongested {
					t.Fatalf("step %d (%d kbit/s): target %d, congested %v; want %d, %v", i, st.kbps, got, congested, st.wantKbps, st.wantCongested)
				}
			}
		})
	}
}

// cappedSource is a recordingSource with a ceiling of its own.
type cappedSource struct {
	recordingSource
	max int
}

func (c *cappedSource) MaxKbps() int { return c.max }

// TestVideoSendSourceCeiling: a source's MaxKbps bounds the target from
// the start and against any estimate, and paces as a congested path does
// while it binds; an estimate below it still rules.
func TestVideoSendSourceCeiling(t *testing.T) {
	tests := []struct {
		name          string
		max           int
		estimate      int
		wantStart     int
		wantKbps      int
		wantCongested bool
	}{
		{"estimate above the ceiling", 800, 3000, 800, 800, true},
		{"estimate below the ceiling", 800, 500, 800, 500, true},
		{"ceiling under the floor", 10, 3000, MinVideoKbps, MinVideoKbps, true},
		{"no ceiling", 0, 3000, 2500, 3000, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			src := &cappedSource{max: tc.max}
			vs := NewVideoSend(src, VideoSendOptions{StartKbps: 2500, AdaptBitrate: true})
			if err := vs.Start(videocodec.VP8, func([]byte, time.Duration) error { return nil }); err != nil {
				t.Fatal(err)
			}
			if got := vs.Stats().BitrateKbps; got != tc.wantStart {
				t.Errorf("target after Start %d kbit/s, want %d", got, tc.wantStart)
			}
			vs.FollowEstimate(tc.estimate)
			vs.pacer.mu.Lock()
			congested, pacerKbps := vs.pacer.congested, vs.pacer.kbps
			vs.pacer.mu.Unlock()
			if got := vs.Stats().BitrateKbps; got != tc.wantKbps || pacerKbps != tc.wantKbps || congested != tc.wantCongested {
				t.Errorf("after an estimate of %d: target %d, pacer %d, congested %v; want %d, %d, %v",
					tc.estimate, got, pacerKbps, congested, tc.wantKbps, tc.wantKbps, tc.wantCongested)
			}
			src.mu.Lock()
			last := src.kbps[len(src.kbps)-1]
			src.mu.Unlock()
			if last != tc.wantKbps {
				t.Errorf("source told %d kbit/s, want %d", last, tc.wantKbps)
			}
		})
	}
}
