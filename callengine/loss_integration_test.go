package callengine

import (
	"fmt"
	"net"
	"os/exec"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/parlo-voip/parlo/callengine/audio"
	"github.com/parlo-voip/parlo/callengine/media"
	"github.com/parlo-voip/parlo/callengine/media/classic"
	"github.com/parlo-voip/parlo/capture"
	"github.com/parlo-voip/parlo/internal/testpeers"
)

// nftLoss drops pct % of the UDP datagrams in the test's network namespace,
// at random, both directions (every loopback datagram passes the input hook
// once). This kernel has no netem (CONFIG_NET_SCH_NETEM is not set), so
// loss comes from nftables' random number generator.
func nftLoss(t *testing.T, pct int) (remove func()) {
	t.Helper()
	table := nftTable(t)
	nftRun(t, "add", "rule", "inet", table, "in", "meta", "l4proto", "udp", "numgen", "random", "mod", "100", "<", fmt.Sprint(pct), "drop")
	return func() { nftRun(t, "delete", "table", "inet", table) }
}

// A share and the audio under packet loss: 5 % steady (a poor Wi-Fi), then
// a 20 % burst for 5 s and back to none. The receiver keeps decoding the
// moving picture (NACK/PLI repair it), the tone stays audible, and the
// frame rate comes back after the burst.
func TestShareUnderLossIntegration(t *testing.T) {
	m := startMovingShare(t, nil)
	a, b, measure := m.a, m.b, m.measure
	clean := measure(3 * time.Second)
	t.Logf("no loss: A sends %.1f fps, B decodes %.1f fps", clean.sentFPS, clean.decodedFPS)

	remove := nftLoss(t, 5)
	lossy := measure(5 * time.Second)
	b.waitTone(t, 440, 5*time.Second)
	a.waitTone(t, 660, 5*time.Second)
	remove()
	t.Logf("5 %% loss: A sends %.1f fps, B decodes %.1f fps; %d keyframe requests, %d audio packets lost in 5 s",
		lossy.sentFPS, lossy.decodedFPS, lossy.keyframeRequests, lossy.audioLost)

	remove = nftLoss(t, 20)
	burst := measure(5 * time.Second)
	remove()
	t.Logf("20 %% loss for 5 s: A sends %.1f fps, B decodes %.1f fps; %d keyframe requests", burst.sentFPS, burst.decodedFPS, burst.keyframeRequests)
	start := time.Now()
	var after shareWindow
	for time.Since(start) < 15*time.Second {
		if after = measure(time.Second); after.decodedFPS >= 0.9*after.sentFPS && after.sentFPS >= 0.8*clean.sentFPS {
			break
		}
	}
	t.Logf("after the burst: B decodes %.1f of %.1f fps sent, %s after the loss ended", after.decodedFPS, after.sentFPS, time.Since(start).Round(100*time.Millisecond))
	t.Logf("FIGURE loss.webrtc.share: %.1f fps sent, %.1f fps decoded; %d keyframe requests, %d audio packets lost in 5 s",
		lossy.sentFPS, lossy.decodedFPS, lossy.keyframeRequests, lossy.audioLost)
	t.Logf("FIGURE loss.webrtc.burst: %.1f of %.1f fps decoded during 5 s of 20 %% loss (%d keyframe requests); back to %.1f of %.1f fps %s after it ended",
		burst.decodedFPS, burst.sentFPS, burst.keyframeRequests, after.decodedFPS, after.sentFPS, time.Since(start).Round(100*time.Millisecond))
	b.waitTone(t, 440, 5*time.Second)

	// The sender's own rate depends on the machine's load (the frame-rate
	// test checks it); here the receiver must keep up with it: loss is
	// repaired by retransmission, not by keyframes.
	if lossy.decodedFPS < 0.9*lossy.sentFPS {
		t.Errorf("under 5 %% loss B decodes %.1f of %.1f fps sent, want ≥ 90 %%", lossy.decodedFPS, lossy.sentFPS)
	}
	if lossy.keyframeRequests > 2 {
		t.Errorf("under 5 %% loss B asked for %d keyframes in 5 s, want ≤ 2 (NACK repairs)", lossy.keyframeRequests)
	}
	if after.decodedFPS < 0.9*after.sentFPS || after.sentFPS < 0.8*clean.sentFPS {
		t.Errorf("15 s after a loss burst: B decodes %.1f of %.1f fps sent (%.1f before the loss)", after.decodedFPS, after.sentFPS, clean.sentFPS)
	}
}

// tbfCap limits everything on the namespace's loopback to rate (a token
// bucket, tc-tbf(8)): the share's bottleneck link. The loopback's MTU is
// lowered to Ethernet's 1500 bytes meanwhile: tbf drops a packet larger than
// its bucket, and on a 64 KiB-MTU loopback a 4 kB SIP re-INVITE with its SDP
// is one such packet, where a real link would have fragmented it.
func tbfCap(t *testing.T, rate string) (remove func()) {
	t.Helper()
	if _, err := net.InterfaceByName("pv0"); err != nil {
		t.Fatal("this test changes the loopback's queueing: run it inside the test network namespace (make test, or scripts/isolated.sh go test ...)")
	}
	run := func(args ...string) {
		if out, err := exec.Command("tc", args...).CombinedOutput(); err != nil {
			t.Fatalf("tc %v: %v: %s", args, err, out)
		}
	}
	ip := func(args ...string) {
		if out, err := exec.Command("ip", args...).CombinedOutput(); err != nil {
			t.Fatalf("ip %v: %v: %s", args, err, out)
		}
	}
	lo, err := net.InterfaceByName("lo")
	if err != nil {
		t.Fatal(err)
	}
	ip("link", "set", "dev", "lo", "mtu", "1500")
	run("qdisc", "add", "dev", "lo", "root", "tbf", "rate", rate, "burst", "16kbit", "latency", "80ms")
	var once sync.Once
	remove = func() {
		once.Do(func() {
			run("qdisc", "del", "dev", "lo", "root")
			ip("link", "set", "dev", "lo", "mtu", strconv.Itoa(lo.MTU))
		})
	}
	t.Cleanup(remove)
	return remove
}

// A share over a 600 kbit/s bottleneck: the sender's target follows the
// loss the receiver reports down under the cap, the picture keeps coming,
// the call's audio stays, and the target climbs back once the cap is gone.
func TestShareUnderBandwidthCapIntegration(t *testing.T) {
	m := startMovingShare(t, nil)
	a, b, aID := m.a, m.b, m.aID
	st, _ := a.Stats(aID)
	before := st.Video.Sent.BitrateKbps

	remove := tbfCap(t, "600kbit")
	start := time.Now()
	var target int
	for time.Since(start) < 30*time.Second {
		st, _ = a.Stats(aID)
		if target = st.Video.Sent.BitrateKbps; target <= 600 {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	adapt := time.Since(start)
	capped := m.measure(5 * time.Second)
	t.Logf("600 kbit/s cap: target %d → %d kbit/s in %s; B decodes %.1f fps under the cap", before, target, adapt.Round(100*time.Millisecond), capped.decodedFPS)
	if target > 600 {
		t.Fatalf("after 30 s under a 600 kbit/s cap the sender still targets %d kbit/s", target)
	}
	// A full-motion 720p picture at 600 kbit/s comes as a slide show (a few
	// frames a second at best, less on a loaded machine); what must not
	// happen is a frozen picture.
	if capped.framesDecoded == 0 {
		t.Fatalf("B decoded nothing in 5 s under the cap, want the picture to keep coming")
	}
	b.waitTone(t, 440, 10*time.Second)

	remove()
	start = time.Now()
	for time.Since(start) < 30*time.Second {
		st, _ = a.Stats(aID)
		if st.Video.Sent.BitrateKbps >= 2*target {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Logf("cap removed: target back to %d kbit/s after %s", st.Video.Sent.BitrateKbps, time.Since(start).Round(100*time.Millisecond))
	t.Logf("FIGURE bwcap.webrtc: target %d → %d kbit/s in %s under the cap, %.1f fps decoded; back to %d kbit/s %s after it was lifted",
		before, target, adapt.Round(100*time.Millisecond), capped.decodedFPS, st.Video.Sent.BitrateKbps, time.Since(start).Round(100*time.Millisecond))
	if st.Video.Sent.BitrateKbps < 2*target {
		t.Fatalf("30 s after the cap was lifted the target is %d kbit/s (was %d under it)", st.Video.Sent.BitrateKbps, target)
	}
}

// classicPath forces a test phone onto the classic media path (per-line
// transports, SDES) whatever the peer offers.
func classicPath(o *Options) {
	o.Media = "classic"
	o.ClassicMediaFactory = classic.New
	o.SRTP = media.SRTPRequired
}

// startClassicMovingShare is startMovingShare with both phones on the
// classic path.
func startClassicMovingShare(t *testing.T) *movingShare {
	t.Helper()
	return startClassicMovingShareOn(t, testpeers.StartDummyTwoMonitors(t), classicPath, classicPath)
}

// startClassicMovingShareOn sets the moving-share rig up on display d with
// A's and B's options tuned by tuneA and tuneB.
func startClassicMovingShareOn(t *testing.T, d *testpeers.Display, tuneA, tuneB func(*Options)) *movingShare {
	t.Helper()
	mons, err := capture.MonitorsOn(d.Name())
	if err != nil || len(mons) < 2 {
		t.Fatal(mons, err)
	}
	m := &movingShare{mon: mons[1]}
	d.ShowTestPattern(t, m.mon.X, m.mon.Y, m.mon.Width, m.mon.Height)
	m.a = newTestPhone(t, testPhoneOpts{toneHz: 440, display: d.Name(), tune: tuneA})
	m.b = newTestPhone(t, testPhoneOpts{toneHz: 660, display: d.Name(), tune: tuneB})
	m.aID, m.bID = connect(t, m.a, m.b)
	if err := m.a.StartScreenSharing(ctxT(t, 30*time.Second), m.aID, m.mon.Index); err != nil {
		t.Fatal(err)
	}
	waitFrames(t, m.b, m.bID, 1, 10*time.Second)
	return m
}

// The share over the classic path under 5 % random loss: the receiver
// NACKs the missing packets (RFC 4585 §6.2.1), the sender resends them
// from the NACK responder's history as RTX (RFC 4588, negotiated by both
// Parlos), and the receiver keeps decoding the moving picture without
// falling back to keyframes.
func TestClassicShareUnderLossIntegration(t *testing.T) {
	m := startClassicMovingShare(t)
	if st, _ := m.b.Stats(m.bID); st.Path != "classic" {
		t.Fatalf("path %q, want classic", st.Path)
	}
	w0 := m.measure(0)
	remove := nftLoss(t, 5)
	lossy := m.measure(5 * time.Second)
	m.b.waitTone(t, 440, 5*time.Second)
	remove()
	nacks := lossy.receiver.Video.Received.NACKsSent - w0.receiver.Video.Received.NACKsSent
	nacked := lossy.sender.Video.Sent.NACKsReceived - w0.sender.Video.Sent.NACKsReceived
	rtx := lossy.receiver.Video.Received.Retransmissions - w0.receiver.Video.Received.Retransmissions
	t.Logf("FIGURE loss.classic.share: %.1f fps sent, %.1f fps decoded; %d NACKs sent by the receiver (%d reached the sender), %d RTX packets received, %d keyframe requests in 5 s",
		lossy.sentFPS, lossy.decodedFPS, nacks, nacked, rtx, lossy.keyframeRequests)
	if nacks == 0 || nacked == 0 {
		t.Errorf("no NACK under 5 %% loss: the receiver sent %d, the sender got %d", nacks, nacked)
	}
	if rtx == 0 {
		t.Errorf("no RTX (RFC 4588) retransmission received under 5 %% loss (%d NACKs)", nacks)
	}
	if lossy.decodedFPS < 0.9*lossy.sentFPS {
		t.Errorf("under 5 %% loss B decodes %.1f of %.1f fps sent, want ≥ 90 %%", lossy.decodedFPS, lossy.sentFPS)
	}
	if lossy.keyframeRequests > 2 {
		t.Errorf("under 5 %% loss B asked for %d keyframes in 5 s, want ≤ 2 (NACK repairs)", lossy.keyframeRequests)
	}
}

// Opus in-band FEC on the classic path (both ends' SDP say
// useinbandfec=1) under 5 % random loss: the sender codes FEC for the loss
// the receiver reports, the receiver rebuilds lost frames from the next
// packet, and the tone is still heard both ways.
func TestOpusFECUnderLossIntegration(t *testing.T) {
	a := newTestPhone(t, testPhoneOpts{toneHz: 440, tune: classicPath})
	b := newTestPhone(t, testPhoneOpts{toneHz: 660, tune: classicPath})
	aID, bID := connect(t, a, b)
	b.waitTone(t, 440, 5*time.Second)
	b0, _ := b.Stats(bID)
	remove := nftLoss(t, 5)
	var b1 media.Stats
	start := time.Now()
	for time.Since(start) < 15*time.Second {
		time.Sleep(500 * time.Millisecond)
		if b1, _ = b.Stats(bID); b1.Audio.FECDecoded-b0.Audio.FECDecoded >= 5 && time.Since(start) >= 5*time.Second {
			break
		}
	}
	b.waitTone(t, 440, 5*time.Second)
	a.waitTone(t, 660, 5*time.Second)
	remove()
	lost := b1.Audio.PacketsLost - b0.Audio.PacketsLost
	fec := b1.Audio.FECDecoded - b0.Audio.FECDecoded
	a1, _ := a.Stats(aID)
	t.Logf("FIGURE fec.classic: 5 %% loss for %.0f s: %d audio packets lost, %d frames rebuilt from Opus in-band FEC; tone heard both ways (RTT %.1f ms, jitter %.1f ms)",
		time.Since(start).Seconds(), lost, fec, a1.Audio.RTTMs, b1.Audio.JitterMs)
	if fec == 0 {
		t.Fatalf("no frame rebuilt from FEC under 5 %% loss (%d packets lost)", lost)
	}
}

// Opus DTX on the classic path (both ends' SDP say usedtx=1): a silent
// source sends a fraction of the 50 packets a second a tone takes.
func TestOpusDTXIntegration(t *testing.T) {
	a := newTestPhone(t, testPhoneOpts{audioIn: func() (audio.Source, error) { return audio.Silence(), nil }, tune: classicPath})
	b := newTestPhone(t, testPhoneOpts{toneHz: 660, tune: classicPath})
	aID, bID := connect(t, a, b)
	a.waitTone(t, 660, 5*time.Second)
	rate := func(p *testPhone, id string) (float64, media.AudioStats) {
		s0, _ := p.Stats(id)
		t0 := time.Now()
		time.Sleep(3 * time.Second)
		s1, _ := p.Stats(id)
		return float64(s1.Audio.PacketsSent-s0.Audio.PacketsSent) / time.Since(t0).Seconds(), s1.Audio
	}
	silent, sa := rate(a, aID)
	tone, sb := rate(b, bID)
	t.Logf("FIGURE dtx.classic: silence %.1f packets/s (%d frames not sent), tone %.1f packets/s", silent, sa.DTXFrames, tone)
	if tone < 45 {
		t.Fatalf("the tone side sends %.1f packets/s, want ~50 (ptime 20): %+v", tone, sb)
	}
	if silent > 10 || sa.DTXFrames == 0 {
		t.Fatalf("silence under DTX sends %.1f packets/s (%d DTX frames), want ≤ 10", silent, sa.DTXFrames)
	}
}
