package ui

import (
	"testing"
	"time"

	"github.com/parlo-voip/parlo/callengine"
)

func TestStateOf(t *testing.T) {
	tests := []struct {
		name string
		s    callengine.CallSession
		want callState
	}{
		{"outgoing before answer", callengine.CallSession{IsCaller: true, SipStatus: callengine.SipStatusEstablishing}, stateCalling},
		{"incoming ringing", callengine.CallSession{Ringing: true, SipStatus: callengine.SipStatusInitial}, stateRinging},
		{"established", callengine.CallSession{Answered: true, SipStatus: callengine.SipStatusEstablished}, stateActive},
		{"held", callengine.CallSession{Answered: true, Paused: true, SipStatus: callengine.SipStatusEstablished}, stateHeld},
		{"hanging up", callengine.CallSession{Answered: true, SipStatus: callengine.SipStatusTerminating}, stateEnding},
		{"ended while held", callengine.CallSession{Paused: true, SipStatus: callengine.SipStatusTerminated}, stateEnded},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := stateOf(&tt.s); got != tt.want {
				t.Errorf("stateOf = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestFormatDuration(t *testing.T) {
	tests := []struct {
		d    time.Duration
		want string
	}{
		{0, "0:00"},
		{999 * time.Millisecond, "0:00"},
		{61 * time.Second, "1:01"},
		{59*time.Minute + 59*time.Second, "59:59"},
		{time.Hour + 2*time.Minute + 3*time.Second, "1:02:03"},
	}
	for _, tt := range tests {
		if got := formatDuration(tt.d); got != tt.want {
			t.Errorf("formatDuration(%v) = %q, want %q", tt.d, got, tt.want)
		}
	}
}

func TestCallEntryDuration(t *testing.T) {
	t0 := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	ans := t0.Add(10 * time.Second)
	end := t0.Add(70 * time.Second)
	tests := []struct {
		name string
		s    callengine.CallSession
		now  time.Time
		want time.Duration
	}{
		{"ringing counts from creation", callengine.CallSession{CreationTime: t0}, t0.Add(5 * time.Second), 5 * time.Second},
		{"answered counts talk time", callengine.CallSession{CreationTime: t0, AnswerTime: &ans}, t0.Add(25 * time.Second), 15 * time.Second},
		{"ended stops the clock", callengine.CallSession{CreationTime: t0, AnswerTime: &ans, EndTime: &end}, t0.Add(time.Hour), 60 * time.Second},
		{"clock skew is zero", callengine.CallSession{CreationTime: t0}, t0.Add(-time.Second), 0},
	}
	for _, tt := range tests {
		e := &callEntry{s: &tt.s}
		if got := e.duration(tt.now); got != tt.want {
			t.Errorf("%s: duration = %v, want %v", tt.name, got, tt.want)
		}
	}
}

func TestRemoteNameAndNumber(t *testing.T) {
	num := "1002"
	tests := []struct {
		s          callengine.CallSession
		name, numb string
	}{
		{callengine.CallSession{DisplayName: "Bob", Number: "sip:bob@h"}, "Bob", "sip:bob@h"},
		{callengine.CallSession{Number: "sip:bob@h"}, "sip:bob@h", ""},
		{callengine.CallSession{CallerNumber: &num}, "1002", ""},
		{callengine.CallSession{}, "Unknown", ""},
	}
	for _, tt := range tests {
		e := &callEntry{s: &tt.s}
		if e.remoteName() != tt.name || e.remoteNumber() != tt.numb {
			t.Errorf("%+v: got %q/%q, want %q/%q", tt.s, e.remoteName(), e.remoteNumber(), tt.name, tt.numb)
		}
	}
}
