package callengine

import (
	"fmt"

	"github.com/emiago/sipgo/sip"
)

// dialogTags returns our tag and the peer's tag of the call's dialog, once
// there is one. An outgoing call has a dialog only after its 2xx: sipgo fills
// InviteResponse before it moves the dialog state (an atomic) to
// established, so reading the state first makes reading the response safe.
func (c *call) dialogTags() (local, remote string, ok bool) {
	c.mu.Lock()
	uac, uas := c.uac, c.uas
	c.mu.Unlock()
	switch {
	case uac != nil:
		if uac.LoadState() < sip.DialogStateEstablished || uac.InviteResponse == nil {
			return "", "", false
		}
		local, _ = uac.InviteRequest.From().Params.Get("tag")
		remote, _ = uac.InviteResponse.To().Params.Get("tag")
	case uas != nil:
		// ReadInvite put our tag in the To of the request copy it keeps
		// and builds every response from.
		local, _ = uas.InviteRequest.To().Params.Get("tag")
		remote, _ = uas.InviteRequest.From().Params.Get("tag")
	default:
		return "", "", false
	}
	return local, remote, local != "" && remote != ""
}

// dialogCall finds the call whose dialog an in-dialog request belongs to:
// same Call-ID, our tag in To and the peer's tag in From (RFC 3261 §12.2.2).
// A Call-ID alone is not enough: anyone who saw one (or guessed it) could
// otherwise end or redirect the call.
func (p *Phone) dialogCall(req *sip.Request) (*call, error) {
	c, err := p.call(req.CallID().Value())
	if err != nil {
		return nil, err
	}
	toTag, _ := req.To().Params.Get("tag")
	fromTag, _ := req.From().Params.Get("tag")
	local, remote, ok := c.dialogTags()
	if !ok || toTag != local || fromTag != remote {
		return nil, fmt.Errorf("%w: tags do not match the dialog of call %q", ErrNoSuchCall, c.id)
	}
	return c, nil
}
