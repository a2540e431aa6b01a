package callengine

import (
	"testing"
	"time"

	"github.com/parlo-voip/parlo/callengine/media"
)

func TestSampleRatesAndQuality(t *testing.T) {
	t0 := time.Now()
	first := sample(media.Stats{Audio: media.AudioStats{BytesReceived: 1000, PacketsReceived: 100}}, nil, t0)
	if first.Quality != "good" || first.AudioInKbps != 0 {
		t.Fatalf("first sample: %+v", first)
	}
	second := sample(media.Stats{Audio: media.AudioStats{BytesReceived: 11000, PacketsReceived: 190, PacketsLost: 10, RTTMs: 50}}, &first, t0.Add(time.Second))
	if second.AudioInKbps != 80 {
		t.Fatalf("in kbps %v, want 80", second.AudioInKbps)
	}
	if second.LossPercent != 10 || second.Quality != "poor" {
		t.Fatalf("loss %v%% quality %s, want 10%% poor", second.LossPercent, second.Quality)
	}
}

func TestNetworkMonitoringIntegration(t *testing.T) {
	a := newTestPhone(t, testPhoneOpts{toneHz: 440})
	b := newTestPhone(t, testPhoneOpts{toneHz: 660})
	aID, _ := connect(t, a, b)
	if err := a.StartNetworkMonitoring(aID, 200*time.Millisecond); err != nil {
		t.Fatal(err)
	}
	a.rec.waitCount(t, EventNetworkStats, aID, 4, 3*time.Second)
	if err := a.StopNetworkMonitoring(aID); err != nil {
		t.Fatal(err)
	}
	a.rec.mu.Lock()
	var last NetworkStats
	for _, ev := range a.rec.events {
		if ev.Name == EventNetworkStats {
			last = payloadOf[NetworkStatsPayload](ev).Stats
		}
	}
	a.rec.mu.Unlock()
	// Opus at ~32 kbit/s plus RTP overhead each way, on a clean loopback.
	if last.AudioInKbps < 10 || last.AudioOutKbps < 10 || last.Quality != "good" || last.PacketsIn == 0 {
		t.Fatalf("last sample: %+v", last)
	}
	n := a.rec.count(EventNetworkStats, aID)
	time.Sleep(500 * time.Millisecond) // two intervals with monitoring off
	if m := a.rec.count(EventNetworkStats, aID); m != n {
		t.Fatalf("%d samples after StopNetworkMonitoring", m-n)
	}
	if err := a.StartNetworkMonitoring(aID, time.Millisecond); err == nil {
		t.Fatal("1 ms interval accepted")
	}
}
