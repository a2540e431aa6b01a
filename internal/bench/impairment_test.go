package bench

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/parlo-voip/parlo/callengine"
	"github.com/parlo-voip/parlo/callengine/media"
	"github.com/parlo-voip/parlo/callengine/media/classic"
	"github.com/parlo-voip/parlo/internal/testpeers"
)

// impairedWindow is one condition of benchImpairment.
type impairedWindow struct {
	ds          decoderSample
	fps, kbps   float64 // decoded frames and received video bits per second at the receiver
	keyframeReq uint64  // PLIs the receiver sent
}

// benchImpairment shares full motion at 1080p with the barcode clock
// between two engines in this process and reads the screen → decoder
// latency and the decoded frame rate under a hostile network, a few
// seconds per condition. This kernel has no netem, so: random loss with
// nftables (numgen) and a bandwidth cap with tc tbf on the default (WebRTC)
// path; delay and jitter with a user-space relay (testpeers.ImpairRelay)
// that the SDP points each side at, which needs the classic per-m-line
// path (WebRTC's ICE candidates would bypass it).
func benchImpairment(b *testing.B, cfg config, rep *Report) {
	b.Helper()
	if _, err := net.InterfaceByName("pv0"); err != nil {
		b.Fatal("the impairment rows change the loopback's firewall and queueing: run them inside scripts/isolated.sh (make bench does)")
	}
	testpeers.Require(b, "nft", "tc")
	d := showScene(b, sceneFullMotion)
	p, err := NewXPainter(d.Name())
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(p.Close)
	epoch := time.Now()
	if err := p.StartBarcode(barcodeX, barcodeY, epoch, 4*time.Millisecond); err != nil {
		b.Fatal(err)
	}
	window := cfg.impairWindow

	share := func(a, bob *phone) (string, *callengine.VideoReceiver) {
		id, _, _ := callConnected(b, a, bob.ContactURI())
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := a.StartScreenSharing(ctx, id, 0); err != nil {
			b.Fatal(err)
		}
		if _, err := waitRemoteVideo(ctx, bob, id, 0); err != nil {
			b.Fatalf("no remote video: %v", err)
		}
		rv, _ := bob.RemoteVideo(id)
		return id, rv
	}
	measure := func(bob *phone, id string, rv *callengine.VideoReceiver) impairedWindow {
		time.Sleep(cfg.warmup) // the sender adapts (rate control, NACK/RTX) before the window
		st0, _ := bob.Stats(id)
		t0 := time.Now()
		ds := readDecoderLatency(b, rv, epoch, window)
		wall := time.Since(t0).Seconds()
		st1, _ := bob.Stats(id)
		r0, r1 := st0.Video.Received, st1.Video.Received
		return impairedWindow{ds: ds, fps: float64(r1.FramesDecoded-r0.FramesDecoded) / wall,
			kbps: float64(r1.Bytes-r0.Bytes) * 8 / wall / 1000, keyframeReq: r1.PLIsSent - r0.PLIsSent}
	}

	type condition struct {
		path, what string
		w          impairedWindow
	}
	var conds []condition

	// The default path: WebRTC, one BUNDLEd transport.
	a := newPhoneWith(b, callengine.Options{User: "alice", Display: d.Name()})
	bob := newPhoneWith(b, callengine.Options{User: "bob", AutoAnswer: true})
	id, rv := share(a, bob)
	conds = append(conds, condition{"default (WebRTC)", "no impairment", measure(bob, id, rv)})
	remove := nftLoss(b, 5)
	conds = append(conds, condition{"default (WebRTC)", "5 % random loss both ways (nftables numgen)", measure(bob, id, rv)})
	remove()
	remove = tbfCap(b, "1mbit")
	conds = append(conds, condition{"default (WebRTC)", "1 Mbit/s cap (tc tbf, 80 ms queue)", measure(bob, id, rv)})
	remove()
	hangup(b, a, id)

	// The classic path through the relay: delay and jitter.
	rig := &impairRig{tb: b}
	a2 := newPhoneWith(b, rig.through(true, callengine.Options{User: "alice2", Display: d.Name()}))
	bob2 := newPhoneWith(b, rig.through(false, callengine.Options{User: "bob2", AutoAnswer: true}))
	id2, rv2 := share(a2, bob2)
	if st, _ := bob2.Stats(id2); st.Path != "classic" {
		b.Fatalf("path %q through the relay, want classic", st.Path)
	}
	conds = append(conds, condition{"classic (SDES-SRTP) via relay", "relay, no impairment", measure(bob2, id2, rv2)})
	rig.set(testpeers.Impairment{Delay: 40 * time.Millisecond, Jitter: 10 * time.Millisecond})
	conds = append(conds, condition{"classic (SDES-SRTP) via relay", "40 ms ± 10 ms delay each way (relay)", measure(bob2, id2, rv2)})
	rig.set(testpeers.Impairment{Delay: 40 * time.Millisecond, Jitter: 10 * time.Millisecond, LossPercent: 2})
	conds = append(conds, condition{"classic (SDES-SRTP) via relay", "40 ms ± 10 ms delay and 2 % loss each way (relay)", measure(bob2, id2, rv2)})
	rig.set(testpeers.Impairment{})
	hangup(b, a2, id2)

	for _, c := range conds {
		lat := c.w.ds.lat
		if len(lat) < 5 {
			rep.Add(Row{Section: "2", Measure: fmt.Sprintf("screen → decoder 1080p full motion under impairment, %s path, %s: p50 / p95 (ms)", c.path, c.what),
				Parlo:     fmt.Sprintf("— (%d readable frames, %d unreadable, %d gaps > 1 s; decoded %.1f fps)", len(lat), c.w.ds.unreadable, c.w.ds.stalls, c.w.fps),
				Reference: "— (no reference peer)", Ratio: "—", Target: "—", Verdict: NoGoal})
			continue
		}
		rep.Add(Row{Section: "2", Measure: fmt.Sprintf("screen → decoder 1080p full motion under impairment, %s path, %s: p50 / p95 (ms)", c.path, c.what),
			Parlo: fmt.Sprintf("%.0f / %.0f (decoded %.1f fps, %.0f kbit/s received, %d keyframe requests; %d frames read, %d unreadable, %d gaps > 1 s)",
				Percentile(lat, 50), Percentile(lat, 95), c.w.fps, c.w.kbps, c.w.keyframeReq, len(lat), c.w.ds.unreadable, c.w.ds.stalls),
			Reference: "— (no reference peer)", Ratio: "—", Target: "—", Verdict: NoGoal})
	}
	rep.Note("**2, impairment rows.** The engine-to-engine reading (barcode clock every 4 ms, full motion behind it, read from each decoded frame) with the network made hostile, "+
		"%s of warm-up (the sender's rate control and NACK/RTX settle) and %s measured per condition, one call per path. This kernel has no netem: loss is nftables `numgen random` on the "+
		"namespace's input hook (every UDP datagram, both directions), the cap is `tc tbf` on loopback; delay and jitter come from a user-space relay the SDP points both ends at, "+
		"which only the classic per-m-line path allows (the WebRTC path's ICE candidates would go around it), so those rows have their own no-impairment baseline. "+
		"Jitter is uniform within ± the figure, which reorders packets closer than that, as netem does.", cfg.warmup, window)
}

// newPhoneWith is newPhone with options (loopback listen, quiet log and
// the harness's cleanup added).
func newPhoneWith(tb testing.TB, o callengine.Options) *phone {
	tb.Helper()
	o.Listen = []string{"udp:127.0.0.1:0"}
	o.Logger = quietLogger()
	p, err := callengine.NewPhone(o)
	if err != nil {
		tb.Fatal(err)
	}
	ph := &phone{Phone: p, sub: p.Subscribe()}
	tb.Cleanup(func() { ph.sub.Close(); p.Close() })
	return ph
}

// nftLoss drops pct % of the UDP datagrams entering the network namespace
// (loopback: every datagram, either direction) until remove.
func nftLoss(tb testing.TB, pct int) (remove func()) {
	tb.Helper()
	table := fmt.Sprintf("parlobench%d", time.Now().UnixNano()%1e6)
	run := func(args ...string) {
		tb.Helper()
		if out, err := exec.Command("nft", args...).CombinedOutput(); err != nil {
			tb.Fatalf("nft %s: %v: %s", strings.Join(args, " "), err, out)
		}
	}
	run("add", "table", "inet", table)
	run("add", "chain", "inet", table, "in", "{ type filter hook input priority 0 ; }")
	run("add", "rule", "inet", table, "in", "meta", "l4proto", "udp", "numgen", "random", "mod", "100", "<", fmt.Sprint(pct), "drop")
	var once sync.Once
	remove = func() { once.Do(func() { _ = exec.Command("nft", "delete", "table", "inet", table).Run() }) }
	tb.Cleanup(remove)
	return remove
}

// tbfCap limits loopback to rate (tc syntax) with an 80-ms queue until
// remove.
func tbfCap(tb testing.TB, rate string) (remove func()) {
	tb.Helper()
	run := func(args ...string) error {
		if out, err := exec.Command("tc", args...).CombinedOutput(); err != nil {
			return fmt.Errorf("tc %v: %w: %s", args, err, out)
		}
		return nil
	}
	if err := run("qdisc", "add", "dev", "lo", "root", "tbf", "rate", rate, "burst", "16kbit", "latency", "80ms"); err != nil {
		tb.Fatal(err)
	}
	var once sync.Once
	remove = func() { once.Do(func() { _ = run("qdisc", "del", "dev", "lo", "root") }) }
	tb.Cleanup(remove)
	return remove
}

// impairRig routes a classic-path call's media through user-space
// impairment relays, one per m-line: each phone's SDP is rewritten so its
// peer sends to the relay's side, which forwards to the port the phone
// really listens on. The SDP connection address is the one thing a SIP
// peer uses to decide where media goes, so nothing else changes. Needs
// rtcp-mux, which both classic Parlos negotiate.
type impairRig struct {
	tb  testing.TB
	mu  sync.Mutex
	imp testpeers.Impairment
	rel []*testpeers.ImpairRelay // by m-line index
}

func (r *impairRig) relay(i int) *testpeers.ImpairRelay {
	r.mu.Lock()
	defer r.mu.Unlock()
	for len(r.rel) <= i {
		r.rel = append(r.rel, testpeers.StartImpairRelay(r.tb, r.imp))
	}
	return r.rel[i]
}

// set changes every relay's impairment, and that of relays to come.
func (r *impairRig) set(imp testpeers.Impairment) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.imp = imp
	for _, x := range r.rel {
		x.Set(imp)
	}
}

var (
	sdpMLine    = regexp.MustCompile(`^m=(\w+) (\d+) `)
	sdpRTCPLine = regexp.MustCompile(`^a=rtcp:(\d+)`)
)

// rewrite points the SDP a phone wrote (side A or B) at the relays.
func (r *impairRig) rewrite(sdp []byte, sideA bool) []byte {
	lines := bytes.Split(sdp, []byte("\r\n"))
	idx, newPort := -1, 0
	for n, l := range lines {
		if m := sdpMLine.FindSubmatch(l); m != nil {
			idx++
			port, _ := strconv.Atoi(string(m[2]))
			if newPort = 0; port == 0 {
				continue
			}
			rel := r.relay(idx)
			at := &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: port}
			if sideA {
				rel.SetEndpoints(at, nil)
				newPort = rel.SideB().Port
			} else {
				rel.SetEndpoints(nil, at)
				newPort = rel.SideA().Port
			}
			lines[n] = []byte(fmt.Sprintf("m=%s %d %s", m[1], newPort, l[len(m[0]):]))
			continue
		}
		if m := sdpRTCPLine.FindSubmatch(l); m != nil && newPort != 0 {
			lines[n] = []byte(fmt.Sprintf("a=rtcp:%d%s", newPort, l[len(m[0]):]))
		}
	}
	return bytes.Join(lines, []byte("\r\n"))
}

// impairedSession rewrites the SDP of one phone's classic session.
type impairedSession struct {
	media.Session
	rig   *impairRig
	sideA bool
}

func (s *impairedSession) CreateOffer(ctx context.Context, dir media.Direction) ([]byte, error) {
	sdp, err := s.Session.CreateOffer(ctx, dir)
	if err != nil {
		return nil, err
	}
	return s.rig.rewrite(sdp, s.sideA), nil
}

func (s *impairedSession) CreateAnswer(ctx context.Context, offer []byte, local media.Direction) ([]byte, error) {
	sdp, err := s.Session.CreateAnswer(ctx, offer, local)
	if err != nil {
		return nil, err
	}
	return s.rig.rewrite(sdp, s.sideA), nil
}

// through puts a phone on the classic path (SDES-SRTP required) with its
// sessions going through the rig's relays.
func (r *impairRig) through(sideA bool, o callengine.Options) callengine.Options {
	o.Media = "classic"
	o.SRTP = media.SRTPRequired
	o.ClassicMediaFactory = func(mo media.Options, ev media.Events) (media.Session, error) {
		s, err := classic.New(mo, ev)
		if err != nil {
			return nil, err
		}
		return &impairedSession{Session: s, rig: r, sideA: sideA}, nil
	}
	return o
}
