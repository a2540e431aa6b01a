package share

import (
	"maps"
	"slices"

	"github.com/parlo-voip/parlo/capture/videocodec"
)

// Encoders lists the codecs the Sender runs an encoder for, sorted: one per
// codec its running Outputs negotiated, however many Outputs share it. It
// lets a caller (and a test) see that two legs on the same codec share one
// encoder.
func (s *Sender) Encoders() []videocodec.Name {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Sorted(maps.Keys(s.encoders))
}
