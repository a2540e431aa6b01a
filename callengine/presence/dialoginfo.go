package presence

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"strings"
)

// LineState is what a busy lamp shows for one watched extension, read from
// its dialog-info (RFC 4235).
type LineState string

// The lamp states.
const (
	// LineUnknown: no information yet, or the subscription failed.
	LineUnknown LineState = "unknown"
	// LineIdle: no dialog, or every dialog terminated (RFC 4235 §3.7.1).
	LineIdle LineState = "idle"
	// LineRinging: a dialog in which the extension is the recipient is
	// early (or trying/proceeding): its phone rings and can be picked up.
	LineRinging LineState = "ringing"
	// LineBusy: a confirmed dialog (on the phone), or one the extension
	// itself is placing.
	LineBusy LineState = "busy"
	// LineUnregistered: the server said there is no such resource to watch
	// (RFC 6665 §4.2.2 reason "noresource" or "rejected").
	LineUnregistered LineState = "unregistered"
)

// DialogInfo is one dialog-info document (RFC 4235 §4.1).
type DialogInfo struct {
	// Entity is the watched address (the document's entity attribute).
	Entity string
	// Version orders the documents of one subscription (§4.1.2).
	Version uint64
	// Full is true for state="full", false for "partial".
	Full bool
	// Dialogs are the dialogs listed.
	Dialogs []Dialog
}

// Dialog is one <dialog> element (RFC 4235 §4.1.6).
type Dialog struct {
	ID        string
	CallID    string
	LocalTag  string
	RemoteTag string
	// Direction is "initiator" (the entity placed the call) or "recipient".
	Direction string
	// State is trying, proceeding, early, confirmed or terminated (§3.7.1).
	State string
	// LocalIdentity, RemoteIdentity, RemoteTarget are the <local> and
	// <remote> identities and the remote <target> URI (§4.1.6.3): for a
	// directed pickup the caller's address.
	LocalIdentity, LocalTarget   string
	RemoteIdentity, RemoteTarget string
}

type xmlDialogInfo struct {
	XMLName xml.Name    `xml:"dialog-info"`
	Version string      `xml:"version,attr"`
	State   string      `xml:"state,attr"`
	Entity  string      `xml:"entity,attr"`
	Dialogs []xmlDialog `xml:"dialog"`
}

type xmlParticipant struct {
	Identity string `xml:"identity"`
	Target   struct {
		URI string `xml:"uri,attr"`
	} `xml:"target"`
}

type xmlDialog struct {
	ID        string         `xml:"id,attr"`
	CallID    string         `xml:"call-id,attr"`
	LocalTag  string         `xml:"local-tag,attr"`
	RemoteTag string         `xml:"remote-tag,attr"`
	Direction string         `xml:"direction,attr"`
	State     string         `xml:"state"`
	Local     xmlParticipant `xml:"local"`
	Remote    xmlParticipant `xml:"remote"`
}

// ParseDialogInfo reads an application/dialog-info+xml body.
func ParseDialogInfo(body []byte) (DialogInfo, error) {
	var di DialogInfo
	var x xmlDialogInfo
	if err := decode(body, &x); err != nil {
		return di, err
	}
	if len(x.Dialogs) > maxItems {
		return di, fmt.Errorf("%w: %d dialogs, at most %d", ErrMalformed, len(x.Dialogs), maxItems)
	}
	di.Entity = clean(x.Entity)
	di.Full = !strings.EqualFold(strings.TrimSpace(x.State), "partial")
	if _, err := fmt.Sscan(strings.TrimSpace(x.Version), &di.Version); err != nil && strings.TrimSpace(x.Version) != "" {
		return di, fmt.Errorf("%w: version %q", ErrMalformed, clean(x.Version))
	}
	for _, d := range x.Dialogs {
		di.Dialogs = append(di.Dialogs, Dialog{
			ID:             clean(d.ID),
			CallID:         clean(d.CallID),
			LocalTag:       clean(d.LocalTag),
			RemoteTag:      clean(d.RemoteTag),
			Direction:      strings.ToLower(clean(d.Direction)),
			State:          strings.ToLower(clean(d.State)),
			LocalIdentity:  clean(d.Local.Identity),
			LocalTarget:    clean(d.Local.Target.URI),
			RemoteIdentity: clean(d.Remote.Identity),
			RemoteTarget:   clean(d.Remote.Target.URI),
		})
	}
	return di, nil
}

// State is the lamp the document shows: busy beats ringing beats idle.
// A dialog the entity is placing (initiator) shows busy, as desk phones do:
// its line is taken.
func (di DialogInfo) State() LineState {
	st := LineIdle
	for _, d := range di.Dialogs {
		switch d.State {
		case "confirmed":
			return LineBusy
		case "trying", "proceeding", "early":
			if d.Direction == "recipient" {
				st = LineRinging
			} else {
				return LineBusy
			}
		}
	}
	return st
}

// Ringing returns the dialog a pickup would take over: the first early
// dialog in which the entity is the recipient.
func (di DialogInfo) Ringing() (Dialog, bool) {
	for _, d := range di.Dialogs {
		if d.Direction == "recipient" && (d.State == "early" || d.State == "proceeding" || d.State == "trying") {
			return d, true
		}
	}
	return Dialog{}, false
}

// decode unmarshals a bounded XML body. encoding/xml does not fetch
// external entities or expand user-defined ones, so a body cannot reach
// the file system or the network (XXE) nor blow up (billion laughs).
func decode(body []byte, v any) error {
	if len(body) > MaxBody {
		return fmt.Errorf("%w: %d bytes, at most %d", ErrTooLarge, len(body), MaxBody)
	}
	if len(bytes.TrimSpace(body)) == 0 {
		return fmt.Errorf("%w: empty", ErrMalformed)
	}
	d := xml.NewDecoder(bytes.NewReader(body))
	d.Strict = true
	if err := d.Decode(v); err != nil {
		return fmt.Errorf("%w: %w", ErrMalformed, err)
	}
	return nil
}

// maxText bounds every text field kept from a document.
const maxText = 256

// clean trims a text field, drops control characters (a field may end up
// in a log line or a label) and bounds it.
func clean(s string) string {
	s = strings.TrimSpace(s)
	s = strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return -1
		}
		return r
	}, s)
	if len(s) > maxText {
		s = s[:maxText]
		// Do not cut a rune in half.
		s = strings.ToValidUTF8(s, "")
	}
	return s
}
