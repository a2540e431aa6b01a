package capture

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/godbus/dbus/v5"
)

// The ScreenCast portal (org.freedesktop.portal.ScreenCast, version 4 for
// persist_mode/restore_token) is how a Wayland client is allowed to see the
// screen: the compositor's portal back end asks the user (or, under test, a
// configured chooser) what to share and hands out a PipeWire node.
//
// Every portal call returns a Request object path at once; the answer comes
// later as the Request's Response signal (code 0 success, 1 cancelled by
// the user, 2 ended otherwise). The path is predictable from our unique bus
// name and the handle_token we pass, so we subscribe before calling and no
// Response can be missed (org.freedesktop.portal.Request documentation).
const (
	portalBusName   = "org.freedesktop.portal.Desktop"
	portalPath      = "/org/freedesktop/portal/desktop"
	screenCastIface = "org.freedesktop.portal.ScreenCast"
	requestIface    = "org.freedesktop.portal.Request"
	sessionIface    = "org.freedesktop.portal.Session"
)

var (
	// ErrShareCancelled means the user dismissed the system's share dialog:
	// nothing went wrong, and nothing should be reported as an error. It
	// wraps context.Canceled so that callers treating a cancelled share
	// need no new case.
	ErrShareCancelled = fmt.Errorf("capture: share cancelled in the system dialog: %w", context.Canceled)
	// ErrPortal means the ScreenCast portal is missing or failed.
	ErrPortal = errors.New("capture: screencast portal")
)

// PortalSourceType is the ScreenCast "types" bit mask.
type PortalSourceType uint32

const (
	// PortalMonitor shares a whole output.
	PortalMonitor PortalSourceType = 1
	// PortalWindow shares one window.
	PortalWindow PortalSourceType = 2
)

// PortalCursorMode is the ScreenCast cursor_mode.
type PortalCursorMode uint32

const (
	// CursorHidden leaves the pointer out of the stream.
	CursorHidden PortalCursorMode = 1
	// CursorEmbedded draws the pointer into the frames, as X11 capture
	// users expect from a screen share.
	CursorEmbedded PortalCursorMode = 2
)

// portalCloseTimeout bounds the Close calls on a Request or Session: a
// portal that does not answer must not hold up the end of a share.
const portalCloseTimeout = 2 * time.Second

// portalPersistUntilRevoked asks for a restore token that stays valid
// until the user revokes it (persist_mode 2).
const portalPersistUntilRevoked = 2

// PortalOptions configures a portal screencast session.
type PortalOptions struct {
	// Types is what the user may choose; default monitors and windows.
	Types PortalSourceType
	// Cursor defaults to CursorEmbedded.
	Cursor PortalCursorMode
	// RestoreToken, from a previous session's PortalStream result, lets the
	// portal skip its dialog and share the same thing again.
	RestoreToken string
	// BusAddress is the session bus; default $DBUS_SESSION_BUS_ADDRESS.
	BusAddress string
	Logger     *slog.Logger
}

// PortalStream is one stream the portal granted.
type PortalStream struct {
	NodeID        uint32
	X, Y          int
	Width, Height int
	SourceType    PortalSourceType
}

// PortalSession is a started ScreenCast session. Close ends it (the
// compositor then stops the stream and removes its indicator).
type PortalSession struct {
	conn    *dbus.Conn
	handle  dbus.ObjectPath
	streams []PortalStream
	token   string
	log     *slog.Logger
	closed  atomic.Bool
	closeMu sync.Mutex
}

var portalTokenSeq atomic.Uint64

func portalToken(prefix string) string {
	return fmt.Sprintf("parlo_%s_%d_%d", prefix, os.Getpid(), portalTokenSeq.Add(1))
}

// OpenPortal runs CreateSession, SelectSources and Start. It blocks while
// the portal's dialog is open; ctx cancels the wait (and closes the
// session). ErrShareCancelled when the user dismisses the dialog.
func OpenPortal(ctx context.Context, o PortalOptions) (*PortalSession, error) {
	if o.Types == 0 {
		o.Types = PortalMonitor | PortalWindow
	}
	if o.Cursor == 0 {
		o.Cursor = CursorEmbedded
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	var conn *dbus.Conn
	var err error
	if o.BusAddress != "" {
		conn, err = dbus.Connect(o.BusAddress)
	} else {
		conn, err = dbus.ConnectSessionBus()
	}
	if err != nil {
		return nil, fmt.Errorf("%w: session bus: %w", ErrPortal, err)
	}
	s := &PortalSession{conn: conn, log: o.Logger}
	if err := s.open(ctx, o); err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}

func (s *PortalSession) open(ctx context.Context, o PortalOptions) error {
	sessToken := portalToken("session")
	res, err := s.request(ctx, "CreateSession", func(opts map[string]dbus.Variant) []any {
		opts["session_handle_token"] = dbus.MakeVariant(sessToken)
		return []any{opts}
	})
	if err != nil {
		return err
	}
	var handle string
	if v, ok := res["session_handle"]; ok {
		// Version 1 portals send it as a string, later ones as an object path.
		switch h := v.Value().(type) {
		case string:
			handle = h
		case dbus.ObjectPath:
			handle = string(h)
		}
	}
	if handle == "" {
		return fmt.Errorf("%w: CreateSession returned no session_handle", ErrPortal)
	}
	s.handle = dbus.ObjectPath(handle)

	if _, err := s.request(ctx, "SelectSources", func(opts map[string]dbus.Variant) []any {
		opts["types"] = dbus.MakeVariant(uint32(o.Types))
		opts["multiple"] = dbus.MakeVariant(false)
		if c := s.cursorMode(o.Cursor); c != 0 {
			opts["cursor_mode"] = dbus.MakeVariant(uint32(c))
		}
		opts["persist_mode"] = dbus.MakeVariant(uint32(portalPersistUntilRevoked))
		if o.RestoreToken != "" {
			opts["restore_token"] = dbus.MakeVariant(o.RestoreToken)
		}
		return []any{s.handle, opts}
	}); err != nil {
		return err
	}

	res, err = s.request(ctx, "Start", func(opts map[string]dbus.Variant) []any {
		return []any{s.handle, "", opts}
	})
	if err != nil {
		return err
	}
	if v, ok := res["restore_token"]; ok {
		s.token, _ = v.Value().(string)
	}
	streams, err := parsePortalStreams(res["streams"])
	if err != nil {
		return err
	}
	s.streams = streams
	return nil
}

// cursorMode is the cursor_mode to ask for: want when the portal offers
// it (AvailableCursorModes), else hidden when offered, else none at all
// (0): asking for a mode the portal lacks fails SelectSources, and a
// share without the pointer beats no share.
func (s *PortalSession) cursorMode(want PortalCursorMode) PortalCursorMode {
	v, err := s.conn.Object(portalBusName, portalPath).GetProperty(screenCastIface + ".AvailableCursorModes")
	if err != nil {
		// Version 1 portals have no cursor modes.
		return 0
	}
	avail, _ := v.Value().(uint32)
	return pickCursorMode(avail, want)
}

// pickCursorMode chooses from the AvailableCursorModes bit mask.
func pickCursorMode(avail uint32, want PortalCursorMode) PortalCursorMode {
	switch {
	case avail&uint32(want) != 0:
		return want
	case avail&uint32(CursorHidden) != 0:
		return CursorHidden
	default:
		return 0
	}
}

// parsePortalStreams decodes Start's a(ua{sv}).
func parsePortalStreams(v dbus.Variant) ([]PortalStream, error) {
	var raw [][]any
	if err := dbus.Store([]any{v.Value()}, &raw); err != nil {
		return nil, fmt.Errorf("%w: streams: %w", ErrPortal, err)
	}
	var out []PortalStream
	for _, st := range raw {
		if len(st) != 2 {
			continue
		}
		id, ok := st[0].(uint32)
		if !ok {
			continue
		}
		ps := PortalStream{NodeID: id}
		props, _ := st[1].(map[string]dbus.Variant)
		if p, ok := props["position"]; ok {
			var xy []int32
			if dbus.Store([]any{p.Value()}, &xy) == nil && len(xy) == 2 {
				ps.X, ps.Y = int(xy[0]), int(xy[1])
			} else if a, ok := p.Value().([]any); ok && len(a) == 2 {
				x, _ := a[0].(int32)
				y, _ := a[1].(int32)
				ps.X, ps.Y = int(x), int(y)
			}
		}
		if p, ok := props["size"]; ok {
			if a, ok := p.Value().([]any); ok && len(a) == 2 {
				w, _ := a[0].(int32)
				h, _ := a[1].(int32)
				ps.Width, ps.Height = int(w), int(h)
			}
		}
		if p, ok := props["source_type"]; ok {
			t, _ := p.Value().(uint32)
			ps.SourceType = PortalSourceType(t)
		}
		out = append(out, ps)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%w: Start granted no stream", ErrPortal)
	}
	return out, nil
}

// request calls a ScreenCast method that answers through a Request's
// Response signal and returns the results of a successful response.
func (s *PortalSession) request(ctx context.Context, method string, args func(map[string]dbus.Variant) []any) (map[string]dbus.Variant, error) {
	token := portalToken("req")
	sender := strings.ReplaceAll(strings.TrimPrefix(s.conn.Names()[0], ":"), ".", "_")
	path := dbus.ObjectPath(portalPath + "/request/" + sender + "/" + token)
	match := []dbus.MatchOption{
		dbus.WithMatchObjectPath(path),
		dbus.WithMatchInterface(requestIface),
		dbus.WithMatchMember("Response"),
	}
	if err := s.conn.AddMatchSignalContext(ctx, match...); err != nil {
		return nil, fmt.Errorf("%w: subscribe: %w", ErrPortal, err)
	}
	defer s.conn.RemoveMatchSignal(match...)
	ch := make(chan *dbus.Signal, 4)
	s.conn.Signal(ch)
	defer s.conn.RemoveSignal(ch)

	opts := map[string]dbus.Variant{"handle_token": dbus.MakeVariant(token)}
	obj := s.conn.Object(portalBusName, portalPath)
	var got dbus.ObjectPath
	if err := obj.CallWithContext(ctx, screenCastIface+"."+method, 0, args(opts)...).Store(&got); err != nil {
		return nil, fmt.Errorf("%w: %s: %w", ErrPortal, method, err)
	}
	for {
		select {
		case <-ctx.Done():
			// Closing the Request dismisses a dialog still open.
			cctx, cancel := context.WithTimeout(context.Background(), portalCloseTimeout)
			s.conn.Object(portalBusName, got).CallWithContext(cctx, requestIface+".Close", 0)
			cancel()
			return nil, ctx.Err()
		case sig := <-ch:
			if sig == nil || sig.Path != got || sig.Name != requestIface+".Response" || len(sig.Body) != 2 {
				continue
			}
			code, _ := sig.Body[0].(uint32)
			results, _ := sig.Body[1].(map[string]dbus.Variant)
			switch code {
			case 0:
				return results, nil
			case 1:
				return nil, ErrShareCancelled
			default:
				return nil, fmt.Errorf("%w: %s ended with response %d", ErrPortal, method, code)
			}
		}
	}
}

// Streams lists what the user chose.
func (s *PortalSession) Streams() []PortalStream { return s.streams }

// RestoreToken is the token to pass to the next OpenPortal so that the
// portal shares the same thing without asking; empty when none was offered.
func (s *PortalSession) RestoreToken() string { return s.token }

// OpenPipeWireRemote returns a connection to the PipeWire daemon that can
// see only the granted nodes. The caller owns the file.
func (s *PortalSession) OpenPipeWireRemote(ctx context.Context) (*os.File, error) {
	var fd dbus.UnixFD
	obj := s.conn.Object(portalBusName, portalPath)
	if err := obj.CallWithContext(ctx, screenCastIface+".OpenPipeWireRemote", 0, s.handle, map[string]dbus.Variant{}).Store(&fd); err != nil {
		return nil, fmt.Errorf("%w: OpenPipeWireRemote: %w", ErrPortal, err)
	}
	return os.NewFile(uintptr(fd), "pipewire-remote"), nil
}

// Close ends the session and the bus connection; idempotent.
func (s *PortalSession) Close() error {
	if !s.closed.CompareAndSwap(false, true) {
		return nil
	}
	if s.handle != "" {
		ctx, cancel := context.WithTimeout(context.Background(), portalCloseTimeout)
		s.conn.Object(portalBusName, s.handle).CallWithContext(ctx, sessionIface+".Close", 0)
		cancel()
	}
	return s.conn.Close()
}

// WaylandSession tells whether this process runs in a Wayland session:
// WAYLAND_DISPLAY names a compositor and the session manager says the
// session is a Wayland one. There X11 capture would see at best the
// XWayland windows (black elsewhere), so screens are shared through the
// ScreenCast portal instead. An X11 session with a nested compositor
// (WAYLAND_DISPLAY set, XDG_SESSION_TYPE=x11) keeps X11 capture.
func WaylandSession() bool {
	return os.Getenv("WAYLAND_DISPLAY") != "" && os.Getenv("XDG_SESSION_TYPE") == "wayland"
}

// portalTarget is what a portal Monitor shares: the stream the portal
// granted, and how to ask for it again. Every Source made from the
// Monitor (a share restarted after a hold is a new Source) reads its own
// session: the first one granted by OpenPortalMonitor, later ones opened
// again with the restore token, which the portal honours without asking.
type portalTarget struct {
	opts PortalOptions
	mu   sync.Mutex
	// granted is the session OpenPortalMonitor opened, until a Source
	// takes it.
	granted *PortalSession
	token   string
	// last is the last picture a Source of this target had (tight BGRX
	// rows, lastW x lastH), for the next Source to start from.
	last         []byte
	lastW, lastH int
}

// keep stores the last picture of a Source that stops.
func (t *portalTarget) keep(pix []byte, w, h int) {
	t.mu.Lock()
	t.last, t.lastW, t.lastH = pix, w, h
	t.mu.Unlock()
}

// takeLast hands the last picture over to a new Source, if it has the
// size w x h.
func (t *portalTarget) takeLast(w, h int) []byte {
	t.mu.Lock()
	defer t.mu.Unlock()
	pix := t.last
	t.last = nil
	if pix == nil || t.lastW != w || t.lastH != h || len(pix) != w*h*4 {
		return nil
	}
	return pix
}

// session hands out the granted session, or opens a new one for the
// same target.
func (t *portalTarget) session(ctx context.Context) (*PortalSession, error) {
	t.mu.Lock()
	s, o := t.granted, t.opts
	t.granted = nil
	o.RestoreToken = t.token
	t.mu.Unlock()
	if s != nil {
		return s, nil
	}
	s, err := OpenPortal(ctx, o)
	if err != nil {
		return nil, err
	}
	if tok := s.RestoreToken(); tok != "" {
		t.mu.Lock()
		t.token = tok
		t.mu.Unlock()
	}
	return s, nil
}

// OpenPortalMonitor asks the ScreenCast portal for one monitor (o.Types
// defaults to PortalMonitor) and returns it as a Monitor that NewSource
// captures through PipeWire. The portal decides what is shared: its own
// dialog, a configured chooser, or o.RestoreToken. The Monitor's picture
// is the stream's (X and Y are 0). The first Source made from it takes
// the session and ends it when it stops; later Sources open the same
// target again with the restore token. ClosePortal ends the session when
// no Source is made. ErrShareCancelled when the user dismissed the dialog.
func OpenPortalMonitor(ctx context.Context, o PortalOptions) (Monitor, error) {
	if o.Types == 0 {
		o.Types = PortalMonitor
	}
	s, err := OpenPortal(ctx, o)
	if err != nil {
		return Monitor{}, err
	}
	st := s.Streams()[0]
	if st.Width <= 0 || st.Height <= 0 {
		s.Close()
		return Monitor{}, fmt.Errorf("%w: stream %d has no size", ErrPortal, st.NodeID)
	}
	o.RestoreToken = ""
	m := Monitor{
		Name:    fmt.Sprintf("portal-%d", st.NodeID),
		Width:   st.Width,
		Height:  st.Height,
		Primary: true,
		portal:  &portalTarget{opts: o, granted: s, token: s.RestoreToken()},
	}
	return m, nil
}

// PortalRestoreToken is the token that lets the next OpenPortalMonitor
// share the same thing without the portal's dialog; empty for other
// Monitors or when the portal gave none.
func (m Monitor) PortalRestoreToken() string {
	if m.portal == nil {
		return ""
	}
	m.portal.mu.Lock()
	defer m.portal.mu.Unlock()
	return m.portal.token
}

// ClosePortal ends the portal session of a Monitor from OpenPortalMonitor
// that no Source took; nothing for other Monitors.
func (m Monitor) ClosePortal() error {
	if m.portal == nil {
		return nil
	}
	m.portal.mu.Lock()
	s := m.portal.granted
	m.portal.granted = nil
	m.portal.mu.Unlock()
	if s == nil {
		return nil
	}
	return s.Close()
}
