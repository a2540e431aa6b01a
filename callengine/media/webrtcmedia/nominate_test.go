package webrtcmedia

import (
	"testing"

	"github.com/pion/webrtc/v4"
)

func TestSucceededRemote(t *testing.T) {
	remote := webrtc.ICECandidateStats{ID: "r1", Type: webrtc.StatsTypeRemoteCandidate, IP: "192.0.2.7", Port: 4000}
	pair := func(state webrtc.StatsICECandidatePairState, nominated bool) webrtc.ICECandidatePairStats {
		return webrtc.ICECandidatePairStats{ID: "p1", Type: webrtc.StatsTypeCandidatePair, RemoteCandidateID: "r1", State: state, Nominated: nominated}
	}
	tests := []struct {
		name   string
		report webrtc.StatsReport
		ip     string
		state  pairsState
	}{
		{"no pairs", webrtc.StatsReport{"r1": remote}, "", pairsWaiting},
		{"in progress", webrtc.StatsReport{"r1": remote, "p1": pair(webrtc.StatsICECandidatePairStateInProgress, false)}, "", pairsWaiting},
		{"succeeded", webrtc.StatsReport{"r1": remote, "p1": pair(webrtc.StatsICECandidatePairStateSucceeded, false)}, "192.0.2.7", pairsSucceeded},
		{"nominated", webrtc.StatsReport{"r1": remote, "p1": pair(webrtc.StatsICECandidatePairStateSucceeded, true)}, "", pairsNominated},
		{"remote candidate missing", webrtc.StatsReport{"p1": pair(webrtc.StatsICECandidatePairStateSucceeded, false)}, "", pairsWaiting},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ip, state := succeededRemote(tc.report)
			if ip != tc.ip || state != tc.state {
				t.Fatalf("succeededRemote = %q, %d; want %q, %d", ip, state, tc.ip, tc.state)
			}
		})
	}
}
