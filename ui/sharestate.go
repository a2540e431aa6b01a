package ui

// ShareState is the engine's own record of which calls capture a screen
// (*callengine.Phone has it). When the engine provides it, the sharing
// indicators (banner, badge, title, tray) follow it, re-read on every event,
// on every tick and whenever it signals a change; the share events only
// hint. Events can be late behind a backlog (a MESSAGE flood) and, in
// engines without lossless share events, lost; this state is derived from
// the capture itself, so capture never runs without the indicator.
type ShareState interface {
	// ScreenSharing maps each call capturing right now to its monitor.
	ScreenSharing() map[string]string
	// ScreenSharingChanged is signalled (coalesced) on every change.
	ScreenSharingChanged() <-chan struct{}
}

// reconcileSharing makes every call's sharing flag what the engine's
// capture state says. It runs on the UI goroutine; without a ShareState
// the flags stay as the events set them. It reports whether a flag changed.
func (w *mainWindow) reconcileSharing() (changed bool) {
	if w.shareState == nil {
		return false
	}
	now := w.shareState.ScreenSharing()
	for _, e := range w.calls {
		mon, capturing := now[e.s.SipCallID]
		changed = changed || e.sharing != capturing
		e.sharing = capturing
		if capturing && e.shareMonitor == "" {
			e.shareMonitor = mon
		}
		delete(now, e.s.SipCallID)
	}
	// A capture for a call we have no entry for (its events are still
	// queued): take the call from the engine, so the indicator shows now.
	if len(now) == 0 {
		return changed
	}
	for _, s := range w.eng.Calls() {
		if mon, ok := now[s.SipCallID]; ok {
			w.calls = append(w.calls, &callEntry{s: s, sharing: true, shareMonitor: mon})
			changed = true
		}
	}
	return changed
}

// shareChanged is the engine's change signal (nil: none, never fires).
func (w *mainWindow) shareChanged() <-chan struct{} {
	if w.shareState == nil {
		return nil
	}
	return w.shareState.ScreenSharingChanged()
}
