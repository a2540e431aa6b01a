package ui

import (
	"github.com/parlo-voip/parlo/internal/calllink"
)

// openLink brings the window forward for a later launch of Parlo. With a
// call link (a sip:, sips:, tel: or callto: link the user clicked), the
// address goes into the dial field and waits for the user's Enter or Call:
// a web page can propose a call, only the user places it. The link is
// parsed again here, whoever sent it.
func (w *mainWindow) openLink(link string) {
	w.win.Show()
	w.win.RequestFocus()
	if link == "" {
		return
	}
	target, err := calllink.Parse(link)
	if err != nil {
		w.log.Warn("call link refused", "error", err)
		w.action.info("Ignored a call link that is not a usable address")
		return
	}
	w.dial.SetText(target)
	w.focusDial()
	w.action.info("Press Enter or Call to call " + target)
}

// watchLinks hands each link of a later launch to openLink on the UI
// goroutine until the window stops.
func (w *mainWindow) watchLinks(links <-chan string) {
	if links == nil {
		return
	}
	w.wg.Add(1)
	go func() { // owner: mainWindow; ends with w.ctx or when links closes
		defer w.wg.Done()
		for {
			select {
			case <-w.ctx.Done():
				return
			case l, ok := <-links:
				if !ok {
					return
				}
				w.opts.do(func() { w.openLink(l) })
			}
		}
	}()
}
