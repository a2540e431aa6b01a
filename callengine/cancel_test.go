package callengine

import (
	"context"
	"errors"
	"net"
	"testing"
	"time"
)

// TestCancelledActionSurfacesAsContextCanceled checks that a caller who
// cancels a network action gets both the engine's sentinel and
// context.Canceled from errors.Is: the GUI tells "cancelled" from "failed"
// by that (ui/mainwindow.go run). The peer is a UDP socket that reads the
// request and never answers, so the action is still waiting on the network
// when the context is cancelled.
func TestCancelledActionSurfacesAsContextCanceled(t *testing.T) {
	tests := []struct {
		name     string
		sentinel error
		act      func(ctx context.Context, p *Phone, peer string) error
	}{
		{"Register", ErrRegistration, func(ctx context.Context, p *Phone, _ string) error {
			return p.Register(ctx)
		}},
		{"SendMessage", ErrRequestFailed, func(ctx context.Context, p *Phone, peer string) error {
			return p.SendMessage(ctx, "", "sip:bob@"+peer, "text/plain", []byte("hi"))
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			silent, err := net.ListenPacket("udp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			defer silent.Close()
			peer := silent.LocalAddr().String()
			p := newTestPhone(t, testPhoneOpts{account: &Account{
				URI: "sip:alice@" + peer, Password: "secret", Registrar: "sip:" + peer, Transport: TransportUDP,
			}})

			ctx, cancel := context.WithCancel(t.Context())
			defer cancel()
			go func() { // owner: this test; ends when the socket is closed
				buf := make([]byte, 4096)
				if _, _, err := silent.ReadFrom(buf); err == nil {
					cancel()
				}
			}()
			done := make(chan error, 1)
			go func() { done <- tc.act(ctx, p.Phone, peer) }()
			select {
			case err = <-done:
			case <-time.After(20 * time.Second):
				t.Fatal("the action did not return after its context was cancelled")
			}
			if !errors.Is(err, context.Canceled) {
				t.Fatalf("errors.Is(%v, context.Canceled) = false", err)
			}
			if !errors.Is(err, tc.sentinel) {
				t.Fatalf("errors.Is(%v, %v) = false", err, tc.sentinel)
			}
			t.Log("got:", err)
		})
	}
}
