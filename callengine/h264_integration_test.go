package callengine

import (
	"context"
	"image/color"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/parlo-voip/parlo/callengine/media"
	"github.com/parlo-voip/parlo/internal/testpeers"
)

var rtpmapVP8 = regexp.MustCompile(`(?m)^a=rtpmap:(\d+) VP8/90000\r?$`)

// stripVP8 removes VP8 from the video line of an SDP: its payload type on
// the m= line and its rtpmap, fmtp and rtcp-fb attributes (RFC 4566 §5.14).
func stripVP8(sdp string) string {
	m := rtpmapVP8.FindStringSubmatch(sdp)
	if m == nil {
		return sdp
	}
	pt := m[1]
	lines := strings.SplitAfter(sdp, "\n")
	out := lines[:0]
	for _, l := range lines {
		trim := strings.TrimRight(l, "\r\n")
		switch {
		case strings.HasPrefix(trim, "m=video "):
			f := strings.Fields(trim)
			keep := f[:3]
			for _, x := range f[3:] {
				if x != pt {
					keep = append(keep, x)
				}
			}
			l = strings.Join(keep, " ") + l[len(trim):]
		case strings.HasPrefix(trim, "a=rtpmap:"+pt+" "), strings.HasPrefix(trim, "a=fmtp:"+pt+" "),
			strings.HasPrefix(trim, "a=rtcp-fb:"+pt+" "):
			continue
		}
		out = append(out, l)
	}
	return strings.Join(out, "")
}

// h264OnlySession plays a peer that decodes H.264 only: it takes VP8 out
// of every offer it receives before answering, so its answer keeps H.264.
type h264OnlySession struct {
	media.Session
	mu     sync.Mutex
	offers []string // video offers received, unmodified
}

func (h *h264OnlySession) CreateAnswer(ctx context.Context, offer []byte, local media.Direction) ([]byte, error) {
	if strings.Contains(string(offer), "m=video") {
		h.mu.Lock()
		h.offers = append(h.offers, string(offer))
		h.mu.Unlock()
	}
	return h.Session.CreateAnswer(ctx, []byte(stripVP8(string(offer))), local)
}

func (h *h264OnlySession) CancelOffer() error {
	if oc, ok := h.Session.(media.OfferCanceler); ok {
		return oc.CancelOffer()
	}
	return nil
}

func TestStripVP8(t *testing.T) {
	in := "v=0\r\nm=video 9 UDP/TLS/RTP/SAVPF 96 102\r\na=rtpmap:96 VP8/90000\r\na=rtcp-fb:96 nack\r\n" +
		"a=rtpmap:102 H264/90000\r\na=rtcp-fb:102 nack\r\na=fmtp:102 packetization-mode=1\r\n"
	want := "v=0\r\nm=video 9 UDP/TLS/RTP/SAVPF 102\r\n" +
		"a=rtpmap:102 H264/90000\r\na=rtcp-fb:102 nack\r\na=fmtp:102 packetization-mode=1\r\n"
	if got := stripVP8(in); got != want {
		t.Fatalf("stripVP8:\n%q\nwant\n%q", got, want)
	}
}

// A shares monitor 1 to a B that answers the video line with H.264 only:
// A offers VP8 first and H.264 second, encodes with x264 once B's answer
// picks H.264, and B decodes monitor 1's picture with libavcodec. Both
// media paths: one bundled PeerConnection, and the classic path's own
// transport per m-line, which sends the negotiated codec too.
func TestScreenShareH264Integration(t *testing.T) {
	for _, path := range []media.Path{media.PathWebRTC, media.PathClassic} {
		t.Run(string(path), func(t *testing.T) { testScreenShareH264(t, path) })
	}
}

func testScreenShareH264(t *testing.T, path media.Path) {
	t.Helper()
	var mu sync.Mutex
	var sessions []*h264OnlySession
	r := newShareRigOn(t, path, func(s media.Session) media.Session {
		h := &h264OnlySession{Session: s}
		mu.Lock()
		sessions = append(sessions, h)
		mu.Unlock()
		return h
	})
	a, b := r.a, r.b
	ctx := ctxT(t, 60*time.Second)

	start := time.Now()
	if err := a.StartScreenSharing(ctx, r.aID, r.mon1.Index); err != nil {
		t.Fatalf("StartScreenSharing: %v", err)
	}
	a.rec.wait(t, EventScreenShareStarted, r.aID, time.Second)
	b.rec.wait(t, EventVideoStream, r.bID, 5*time.Second)
	waitFrames(t, b, r.bID, 1, 10*time.Second)
	t.Logf("share → first H.264 frame decoded at the peer: %s", time.Since(start))

	// The offer B received had VP8 preferred and H.264 second.
	mu.Lock()
	var offer string
	for _, s := range sessions {
		s.mu.Lock()
		if len(s.offers) > 0 {
			offer = s.offers[0]
		}
		s.mu.Unlock()
	}
	mu.Unlock()
	// The codecs in m-line order, RTX (RFC 4588) payload types left out.
	mline := regexp.MustCompile(`(?m)^m=video .*$`).FindString(offer)
	var codecs []string
	if f := strings.Fields(mline); len(f) > 3 {
		for _, pt := range f[3:] {
			if m := regexp.MustCompile(`(?m)^a=rtpmap:` + pt + ` ([^/]+)/`).FindStringSubmatch(offer); m != nil && m[1] != "rtx" {
				codecs = append(codecs, pt+" "+m[1])
			}
		}
	}
	if len(codecs) < 2 || codecs[0] != "96 VP8" || codecs[1] != "102 H264" || !strings.Contains(offer, "profile-level-id=42e01f") {
		t.Fatalf("video offer does not put VP8 (96) first and H.264 (102) second (%v):\n%s", codecs, offer)
	}

	r.waitMonitor1Picture(t, b)
	sa, _ := a.Stats(r.aID)
	if sa.Path != string(path) {
		t.Fatalf("the call went on the %s path, want %s", sa.Path, path)
	}
	if sa.Video.Sent.Codec != "H264" || sa.Video.Sent.Width != r.mon1.Width || sa.Video.Sent.Frames == 0 {
		t.Fatalf("sender stats: %+v", sa.Video.Sent)
	}
	sb, _ := b.Stats(r.bID)
	if sb.Video.Received.Codec != "H264" || sb.Video.Received.Width != r.mon1.Width || sb.Video.Received.FramesDecoded == 0 {
		t.Fatalf("receiver stats: %+v", sb.Video.Received)
	}
	t.Logf("H.264 share: A sent %d frames (%d bytes), B decoded %d", sa.Video.Sent.Frames, sa.Video.Sent.Bytes, sb.Video.Received.FramesDecoded)

	// A change on the monitor goes as H.264 P-frames and B follows it.
	pic2 := sharePicture(r.mon1.Width, r.mon1.Height, color.RGBA{R: 30, G: 200, B: 60, A: 255})
	r.d.ShowImage(t, r.mon1.X, r.mon1.Y, writePNG(t, pic2))
	var d2 float64
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		rv, _ := b.RemoteVideo(r.bID)
		img, _ := rv.Latest()
		if d2 = testpeers.MeanDiff(img, pic2); d2 < 12 {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if d2 >= 12 {
		t.Fatalf("after the picture changed, B's frame differs from it by %.1f per channel", d2)
	}
	sb2, _ := b.Stats(r.bID)
	if sb2.Video.Received.FramesDecoded <= sb.Video.Received.FramesDecoded {
		t.Fatalf("no new frame decoded after the change: %d", sb2.Video.Received.FramesDecoded)
	}

	if err := a.StopScreenSharing(ctx, r.aID); err != nil {
		t.Fatalf("StopScreenSharing: %v", err)
	}
	a.rec.wait(t, EventScreenShareEnded, r.aID, time.Second)
	assertNoCapture(t, a, "stop")
}

// An H.264 share of a moving picture keeps up: B decodes ≥ 20 fps.
func TestScreenShareH264FrameRateIntegration(t *testing.T) {
	m := startMovingShare(t, func(s media.Session) media.Session { return &h264OnlySession{Session: s} })
	w := m.measure(3 * time.Second)
	t.Logf("moving %dx%d picture over H.264: B decoded %.1f fps (sender %.1f fps, %d kbit/s target)",
		m.mon.Width, m.mon.Height, w.decodedFPS, w.sender.Video.Sent.FPS, w.sender.Video.Sent.BitrateKbps)
	if w.receiver.Video.Received.Codec != "H264" || w.sender.Video.Sent.Codec != "H264" {
		t.Fatalf("codecs: sent %q, received %q", w.sender.Video.Sent.Codec, w.receiver.Video.Received.Codec)
	}
	if w.decodedFPS < 20 {
		t.Fatalf("B decoded %.1f fps of a changing picture, want ≥ 20", w.decodedFPS)
	}
}
