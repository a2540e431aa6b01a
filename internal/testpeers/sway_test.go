package testpeers

import (
	"context"
	"testing"
	"time"

	"github.com/godbus/dbus/v5"
)

// TestSwayPortalIntegration checks that the headless desktop offers the
// ScreenCast portal, backed by the wlroots implementation, on its bus.
func TestSwayPortalIntegration(t *testing.T) {
	s := StartSway(t, SwayOptions{Width: 320, Height: 240})
	conn, err := dbus.Connect(s.BusAddress())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	v, err := conn.Object("org.freedesktop.portal.Desktop", "/org/freedesktop/portal/desktop").
		GetProperty("org.freedesktop.portal.ScreenCast.AvailableSourceTypes")
	if err != nil {
		t.Fatalf("ScreenCast portal: %v\n%s", err, s.Log())
	}
	if types, _ := v.Value().(uint32); types&1 == 0 {
		t.Fatalf("AvailableSourceTypes = %v, want monitors", v.Value())
	}
	if err := s.SetBackground(ctx, "#00ff00"); err != nil {
		t.Fatalf("%v\n%s", err, s.Log())
	}
}
