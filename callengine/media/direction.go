package media

import "github.com/pion/sdp/v3"

// Direction is an SDP media direction attribute (RFC 3264 §5.1, §6.1).
type Direction int

const (
	// SendRecv is the default: both ways.
	SendRecv Direction = iota
	// SendOnly is what the holder offers (RFC 3264 §8.4).
	SendOnly
	// RecvOnly is the answer to a sendonly offer.
	RecvOnly
	// Inactive is the answer to an inactive offer, or hold on both sides.
	Inactive
)

func (d Direction) String() string {
	switch d {
	case SendOnly:
		return "sendonly"
	case RecvOnly:
		return "recvonly"
	case Inactive:
		return "inactive"
	default:
		return "sendrecv"
	}
}

// Sends reports whether media flows from us in this direction.
func (d Direction) Sends() bool { return d == SendRecv || d == SendOnly }

// Receives reports whether media flows to us in this direction.
func (d Direction) Receives() bool { return d == SendRecv || d == RecvOnly }

// Reverse is the direction seen from the other end: the answerer's view of an
// offered sendonly is recvonly.
func (d Direction) Reverse() Direction {
	switch d {
	case SendOnly:
		return RecvOnly
	case RecvOnly:
		return SendOnly
	default:
		return d
	}
}

// Intersect combines what we want with what the peer allows (both from our
// point of view): we send only if both let us, we receive only if both do.
func (d Direction) Intersect(o Direction) Direction {
	send := d.Sends() && o.Sends()
	recv := d.Receives() && o.Receives()
	switch {
	case send && recv:
		return SendRecv
	case send:
		return SendOnly
	case recv:
		return RecvOnly
	default:
		return Inactive
	}
}

// ParseDirection maps a direction attribute's key ("sendonly") to its
// Direction; ok is false for any other attribute.
func ParseDirection(key string) (d Direction, ok bool) {
	switch key {
	case "sendrecv":
		return SendRecv, true
	case "sendonly":
		return SendOnly, true
	case "recvonly":
		return RecvOnly, true
	case "inactive":
		return Inactive, true
	}
	return SendRecv, false
}

// DirectionOf is the first direction attribute among attrs (one media or
// the session level); ok is false when there is none, and the direction is
// then sendrecv, the default of RFC 3264 §5.1.
func DirectionOf(attrs []sdp.Attribute) (d Direction, ok bool) {
	for _, a := range attrs {
		if d, ok := ParseDirection(a.Key); ok {
			return d, true
		}
	}
	return SendRecv, false
}

// MediaDirection is the direction of one m-line as its writer sees it: its
// own attribute, else the session's, else sendrecv (RFC 3264 §5.1).
func MediaDirection(sd *sdp.SessionDescription, md *sdp.MediaDescription) Direction {
	if d, ok := DirectionOf(md.Attributes); ok {
		return d
	}
	d, _ := DirectionOf(sd.Attributes)
	return d
}
