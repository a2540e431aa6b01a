package webrtcmedia

import (
	"fmt"
	"time"

	"github.com/pion/webrtc/v4"
)

// Early nomination.
//
// As offerer we are the controlling ICE agent (RFC 8445 §6.1.1), so the call
// has media only once we nominate a pair with USE-CANDIDATE (§8.1.1). pion's
// controlling agent nominates in two places only: on its connectivity-check
// tick (a fixed 200 ms while checking, which pion/webrtc does not let us
// configure), or when the peer's check arrives on a pair whose own check
// already succeeded. A SIP peer such as baresip sends its checks as soon as it
// has answered, so they arrive before ours succeed, and none after: our first
// check succeeds a few milliseconds after the answer, and the nomination then
// waits for the next tick, about 200 ms later.
//
// pion also runs a check round at once whenever a new remote candidate is
// added (trickle ICE, RFC 8838), and that round nominates the best succeeded
// pair. So once a pair has succeeded and nothing is nominated yet, we add one
// remote candidate that can never be used: a passive ICE-TCP candidate
// (RFC 6544 §4.5) on the discard port. We gather UDP only (newAPI), so pion
// pairs it with nothing, sends nothing to it, and it can never become the
// selected pair; its only effect is that immediate check round.
const (
	// nominatePoll is the first wait between two reads of pion's candidate
	// pair states; each wait is a quarter longer than the one before, up to
	// nominatePollMax. A check on a LAN takes a few milliseconds, across the
	// Internet tens; pion's own tick is 200 ms. About 30 reads in all.
	nominatePoll    = 2 * time.Millisecond
	nominatePollMax = 25 * time.Millisecond
	// nominateWatch bounds the watch. Past it a tick has come anyway, and a
	// slow path (TURN, lossy link) gains little from a few ms.
	nominateWatch = 600 * time.Millisecond
	// tcpDiscardPort is TCP port 9 (RFC 863), which the never-used candidate
	// names.
	tcpDiscardPort = 9
)

// nominateEarly waits (at most nominateWatch) for a candidate pair to succeed
// and then makes pion nominate it at once, as described above. It returns when
// that is done, when a pair is already nominated or ICE connected, or when the
// session closes. The Session owns it (wg).
func (s *Session) nominateEarly() {
	defer s.wg.Done()
	deadline := time.NewTimer(nominateWatch)
	defer deadline.Stop()
	wait := nominatePoll
	tick := time.NewTimer(wait)
	defer tick.Stop()
	for {
		select {
		case <-s.done:
			return
		case <-deadline.C:
			return
		case <-tick.C:
		}
		wait = min(wait+wait/4, nominatePollMax)
		tick.Reset(wait)
		switch s.pc.ICEConnectionState() {
		case webrtc.ICEConnectionStateConnected, webrtc.ICEConnectionStateCompleted,
			webrtc.ICEConnectionStateFailed, webrtc.ICEConnectionStateClosed:
			return
		}
		ip, state := succeededRemote(s.pc.GetStats())
		switch state {
		case pairsNominated:
			return
		case pairsWaiting:
			continue
		}
		cand := webrtc.ICECandidateInit{
			Candidate: fmt.Sprintf("candidate:parlonominate 1 tcp 1 %s %d typ host tcptype passive", ip, tcpDiscardPort),
		}
		if err := s.pc.AddICECandidate(cand); err != nil {
			s.log.Debug("early nomination: add candidate", "err", err)
		}
		return
	}
}

// pairsState is what succeededRemote found among the candidate pairs.
type pairsState int

const (
	pairsWaiting   pairsState = iota // no pair has succeeded yet
	pairsSucceeded                   // a pair succeeded, none is nominated
	pairsNominated                   // a pair is nominated already
)

// succeededRemote reads the candidate pairs of a stats report: whether one is
// nominated, else whether one succeeded, and then the IP of its remote
// candidate.
func succeededRemote(report webrtc.StatsReport) (string, pairsState) {
	var remoteID string
	for _, v := range report {
		p, ok := v.(webrtc.ICECandidatePairStats)
		if !ok {
			continue
		}
		if p.Nominated {
			return "", pairsNominated
		}
		if p.State == webrtc.StatsICECandidatePairStateSucceeded {
			remoteID = p.RemoteCandidateID
		}
	}
	if remoteID == "" {
		return "", pairsWaiting
	}
	c, ok := report[remoteID].(webrtc.ICECandidateStats)
	if !ok || c.IP == "" {
		return "", pairsWaiting
	}
	return c.IP, pairsSucceeded
}
