package callengine

import (
	"fmt"
	"time"

	"github.com/parlo-voip/parlo/callengine/media"
)

// NetworkStats is one onNetworkStats sample.
type NetworkStats struct {
	At           time.Time `json:"at"`
	RTTMs        float64   `json:"rttMs"`
	JitterMs     float64   `json:"jitterMs"`
	PacketsLost  uint64    `json:"packetsLost"`
	LossPercent  float64   `json:"lossPercent"` // over the last interval
	AudioInKbps  float64   `json:"audioInKbps"`
	AudioOutKbps float64   `json:"audioOutKbps"`
	VideoInKbps  float64   `json:"videoInKbps"`
	VideoOutKbps float64   `json:"videoOutKbps"`
	PacketsIn    uint64    `json:"packetsReceived"`
	PacketsOut   uint64    `json:"packetsSent"`
	Quality      string    `json:"quality"` // good, fair, poor (for a UI indicator)
	raw          media.Stats
}

// StartNetworkMonitoring emits onNetworkStats for the call every interval
// until StopNetworkMonitoring or the call ends (the SDK's
// startNetworkMonitoring).
func (p *Phone) StartNetworkMonitoring(callID string, interval time.Duration) error {
	c, err := p.call(callID)
	if err != nil {
		return err
	}
	if interval < 100*time.Millisecond {
		return fmt.Errorf("%w: monitoring interval %s is below 100 ms", ErrInvalidState, interval)
	}
	c.mu.Lock()
	if c.monitorStop != nil {
		close(c.monitorStop)
	}
	stop := make(chan struct{})
	c.monitorStop = stop
	c.mu.Unlock()
	c.goCall(func() { c.monitor(interval, stop) })
	return nil
}

// StopNetworkMonitoring stops onNetworkStats for the call.
func (p *Phone) StopNetworkMonitoring(callID string) error {
	c, err := p.call(callID)
	if err != nil {
		return err
	}
	c.stopMonitoring()
	return nil
}

func (c *call) stopMonitoring() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.monitorStop != nil {
		close(c.monitorStop)
		c.monitorStop = nil
	}
}

// monitor is owned by the call: it ends with stop or the call.
func (c *call) monitor(interval time.Duration, stop chan struct{}) {
	t := time.NewTicker(interval)
	defer t.Stop()
	var prev *NetworkStats
	for {
		select {
		case <-stop:
			return
		case <-c.done:
			return
		case <-t.C:
		}
		cur := sample(c.stats(), prev, time.Now())
		payload := NetworkStatsPayload{Stats: cur, Previous: prev}
		c.emit(EventNetworkStats, payload)
		prev = &cur
	}
}

// sample derives rates and loss over the interval since prev.
func sample(st media.Stats, prev *NetworkStats, now time.Time) NetworkStats {
	ns := NetworkStats{
		At: now, RTTMs: st.Audio.RTTMs, JitterMs: st.Audio.JitterMs,
		PacketsLost: st.Audio.PacketsLost, PacketsIn: st.Audio.PacketsReceived, PacketsOut: st.Audio.PacketsSent,
		raw: st,
	}
	if prev != nil {
		secs := now.Sub(prev.At).Seconds()
		if secs > 0 {
			kbps := func(cur, old uint64) float64 {
				if cur < old {
					return 0
				}
				return float64(cur-old) * 8 / 1000 / secs
			}
			ns.AudioInKbps = kbps(st.Audio.BytesReceived, prev.raw.Audio.BytesReceived)
			ns.AudioOutKbps = kbps(st.Audio.BytesSent, prev.raw.Audio.BytesSent)
			ns.VideoInKbps = kbps(st.Video.Received.Bytes, prev.raw.Video.Received.Bytes)
			ns.VideoOutKbps = kbps(st.Video.Sent.Bytes, prev.raw.Video.Sent.Bytes)
		}
		got := st.Audio.PacketsReceived - min(st.Audio.PacketsReceived, prev.PacketsIn)
		lost := st.Audio.PacketsLost - min(st.Audio.PacketsLost, prev.PacketsLost)
		if got+lost > 0 {
			ns.LossPercent = 100 * float64(lost) / float64(got+lost)
		}
	}
	switch {
	case ns.LossPercent > 5 || ns.RTTMs > 400 || ns.JitterMs > 60:
		ns.Quality = "poor"
	case ns.LossPercent > 1 || ns.RTTMs > 200 || ns.JitterMs > 30:
		ns.Quality = "fair"
	default:
		ns.Quality = "good"
	}
	return ns
}
