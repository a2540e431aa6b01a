package capture

import (
	"errors"
	"testing"

	"github.com/godbus/dbus/v5"
)

// TestParsePortalStreams decodes Start's "streams" (a(ua{sv})) as godbus
// hands it over, and rejects what grants nothing.
func TestParsePortalStreams(t *testing.T) {
	stream := func(id uint32, props map[string]dbus.Variant) []any { return []any{id, props} }
	pair := func(a, b int32) dbus.Variant { return dbus.MakeVariant([]any{a, b}) }
	for _, tc := range []struct {
		name    string
		streams any
		want    []PortalStream
		wantErr error
	}{
		{
			name: "monitor with position and size",
			streams: [][]any{stream(36, map[string]dbus.Variant{
				"position":    pair(1920, 0),
				"size":        pair(1280, 720),
				"source_type": dbus.MakeVariant(uint32(1)),
			})},
			want: []PortalStream{{NodeID: 36, X: 1920, Y: 0, Width: 1280, Height: 720, SourceType: PortalMonitor}},
		},
		{
			name:    "stream without properties",
			streams: [][]any{stream(7, map[string]dbus.Variant{})},
			want:    []PortalStream{{NodeID: 7}},
		},
		{
			name: "malformed entries are skipped",
			streams: [][]any{
				{uint32(1)},
				{"not a node id", map[string]dbus.Variant{}},
				stream(9, map[string]dbus.Variant{"size": dbus.MakeVariant("640x480")}),
			},
			want: []PortalStream{{NodeID: 9}},
		},
		{name: "no stream granted", streams: [][]any{}, wantErr: ErrPortal},
		{name: "not an array", streams: "streams", wantErr: ErrPortal},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := parsePortalStreams(dbus.MakeVariant(tc.streams))
			if tc.wantErr != nil {
				if !errors.Is(err, tc.wantErr) {
					t.Fatalf("err = %v, want %v", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(tc.want) {
				t.Fatalf("got %+v, want %+v", got, tc.want)
			}
			for i := range got {
				if got[i] != tc.want[i] {
					t.Fatalf("stream %d = %+v, want %+v", i, got[i], tc.want[i])
				}
			}
		})
	}
}

// FuzzParsePortalStreams: whatever another process on the bus sends as
// Start's results, parsing returns streams or an error, never panics.
func FuzzParsePortalStreams(f *testing.F) {
	f.Add(uint32(36), int32(0), int32(0), int32(640), int32(480), uint32(1), true)
	f.Add(uint32(0), int32(-1), int32(-1), int32(-5), int32(0), uint32(99), false)
	f.Fuzz(func(t *testing.T, id uint32, x, y, w, h int32, typ uint32, pairs bool) {
		props := map[string]dbus.Variant{"source_type": dbus.MakeVariant(typ)}
		if pairs {
			props["position"] = dbus.MakeVariant([]any{x, y})
			props["size"] = dbus.MakeVariant([]any{w, h})
		} else {
			props["position"] = dbus.MakeVariant([]int32{x})
			props["size"] = dbus.MakeVariant(w)
		}
		_, _ = parsePortalStreams(dbus.MakeVariant([][]any{{id, props}}))
	})
}

func TestPickCursorMode(t *testing.T) {
	for _, tc := range []struct {
		name  string
		avail uint32
		want  PortalCursorMode
		got   PortalCursorMode
	}{
		{"embedded offered", 1 | 2 | 4, CursorEmbedded, CursorEmbedded},
		{"only hidden offered", 1, CursorEmbedded, CursorHidden},
		{"only metadata offered", 4, CursorEmbedded, 0},
		{"nothing offered", 0, CursorEmbedded, 0},
		{"hidden wanted", 1 | 2, CursorHidden, CursorHidden},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := pickCursorMode(tc.avail, tc.want); got != tc.got {
				t.Errorf("pickCursorMode(%b, %d) = %d, want %d", tc.avail, tc.want, got, tc.got)
			}
		})
	}
}
