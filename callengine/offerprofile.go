package callengine

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"

	"github.com/emiago/sipgo/sip"

	"github.com/parlo-voip/parlo/callengine/media"
)

// offerProfile is one way to offer the media of a call we place: the path
// (one bundled PeerConnection, or one transport per m-line) and, on the
// classic path, the SRTP policy that shapes the offer (RTP/SAVP with
// a=crypto, RTP/AVP with a=crypto, or plain RTP/AVP).
type offerProfile struct {
	path media.Path
	srtp media.SRTPPolicy // classic only; the WebRTC path is always DTLS-SRTP
}

// String names the profile as it is logged and remembered.
func (o offerProfile) String() string {
	if o.path == media.PathWebRTC {
		return "webrtc"
	}
	switch o.srtp {
	case media.SRTPOff:
		return "classic-plain"
	case media.SRTPOptional:
		return "classic-sdes-optional"
	default:
		return "classic-sdes"
	}
}

// parseOfferProfile is the inverse of String.
func parseOfferProfile(s string) (offerProfile, bool) {
	switch s {
	case "webrtc":
		return offerProfile{path: media.PathWebRTC}, true
	case "classic-plain":
		return offerProfile{path: media.PathClassic, srtp: media.SRTPOff}, true
	case "classic-sdes-optional":
		return offerProfile{path: media.PathClassic, srtp: media.SRTPOptional}, true
	case "classic-sdes":
		return offerProfile{path: media.PathClassic, srtp: media.SRTPRequired}, true
	}
	return offerProfile{}, false
}

// outgoingProfiles is the ordered list of offers a call to to may try. The
// first is sent in the INVITE; the next ones only when the peer refuses the
// current one (488/606) or answers it in a profile it cannot be (plain
// RTP/AVP to a WebRTC offer). The order:
//
//  1. What worked last time for this destination, if it is still allowed.
//  2. When signalling is TLS (sips:, transport=tls, a TLS account): the
//     classic path first, SDES keys being as private as the signalling that
//     carries them (RFC 4568 §8.3), then WebRTC.
//  3. Otherwise WebRTC first (DTLS-SRTP keys never travel in SIP, RFC 5763
//     §1; SDES keys over cleartext SIP are readable by anyone on the path),
//     then the classic path.
//
// On the classic path the policy decides the offers: required offers
// RTP/SAVP; optional offers RTP/AVP with a=crypto (best-effort SRTP) and
// then RTP/SAVP, since peers that require SRTP refuse the former with 488
// (Linphone 5.1 takes a=crypto only on RTP/SAVP lines); off offers plain
// RTP/AVP only. An explicit Media setting ("webrtc" or "classic") keeps the
// call on that path.
func (p *Phone) outgoingProfiles(to sip.Uri) []offerProfile {
	policy := p.srtpPolicy()
	var classic []offerProfile
	switch policy {
	case media.SRTPOff:
		classic = []offerProfile{{media.PathClassic, media.SRTPOff}}
	case media.SRTPOptional:
		classic = []offerProfile{{media.PathClassic, media.SRTPOptional}, {media.PathClassic, media.SRTPRequired}}
	case media.SRTPPreferred:
		// Plain RTP last, only after the peer refused every SRTP offer.
		classic = []offerProfile{{media.PathClassic, media.SRTPRequired}, {media.PathClassic, media.SRTPOff}}
	default:
		classic = []offerProfile{{media.PathClassic, media.SRTPRequired}}
	}
	webrtc := []offerProfile{{path: media.PathWebRTC}}

	choice := p.opts.Media
	transport := TransportUDP
	if a := p.account(); a != nil {
		if a.Media != "" {
			choice = a.Media
		}
		if r, err := a.registrar(); err == nil {
			transport = r.transport
		}
	} else if t, ok := to.UriParams.Get("transport"); ok && t != "" {
		transport = strings.ToLower(t)
	}
	if to.Scheme == "sips" {
		transport = TransportTLS
	}

	var order []offerProfile
	switch {
	case p.opts.ClassicMediaFactory == nil, choice == string(media.PathWebRTC):
		return webrtc
	case choice == string(media.PathClassic):
		order = classic
	case transport == TransportTLS:
		order = append(classic, webrtc...)
	default:
		order = append(webrtc, classic...)
	}
	if p.profiles != nil {
		if last, ok := p.profiles.get(profileKey(to)); ok {
			for i, o := range order {
				if o == last {
					// Move it to the front, keeping the rest in order.
					out := append([]offerProfile{o}, order[:i]...)
					return append(out, order[i+1:]...)
				}
			}
		}
	}
	return order
}

// profileKey is the destination a working profile is remembered for: the
// user and host of the request URI. Not the domain alone: behind one PBX
// domain sit browsers (WebRTC only) and desk phones (classic only).
func profileKey(to sip.Uri) string {
	host := strings.ToLower(to.Host)
	if to.Port != 0 {
		host = host + ":" + strconv.Itoa(to.Port)
	}
	if to.User == "" {
		return host
	}
	return to.User + "@" + host
}

// maxRememberedProfiles bounds the memory (and its file): the oldest entry
// goes when a new destination comes.
const maxRememberedProfiles = 256

// profileMemory remembers, per destination, the profile a call last
// connected with, so the next call offers it first. It lives in memory and,
// when a file is given, is loaded from and saved to it (small JSON).
type profileMemory struct {
	mu    sync.Mutex
	file  string
	m     map[string]string
	order []string // insertion order, oldest first
}

// errProfileFile wraps a failure to read or write the profile file.
var errProfileFile = errors.New("callengine: profile memory file")

func newProfileMemory(file string) *profileMemory {
	pm := &profileMemory{file: file, m: map[string]string{}}
	if file == "" {
		return pm
	}
	var saved struct {
		Order   []string          `json:"order"`
		Profile map[string]string `json:"profile"`
	}
	if b, err := os.ReadFile(file); err == nil && json.Unmarshal(b, &saved) == nil {
		for _, k := range saved.Order {
			if v, ok := saved.Profile[k]; ok && len(pm.order) < maxRememberedProfiles {
				if _, valid := parseOfferProfile(v); valid {
					pm.m[k] = v
					pm.order = append(pm.order, k)
				}
			}
		}
	}
	return pm
}

func (pm *profileMemory) get(key string) (offerProfile, bool) {
	pm.mu.Lock()
	defer pm.mu.Unlock()
	v, ok := pm.m[key]
	if !ok {
		return offerProfile{}, false
	}
	return parseOfferProfile(v)
}

// remember records that o worked for key; it returns an error only when the
// file could not be written (the memory is updated either way).
func (pm *profileMemory) remember(key string, o offerProfile) error {
	pm.mu.Lock()
	defer pm.mu.Unlock()
	v := o.String()
	if pm.m[key] == v {
		return nil
	}
	if _, ok := pm.m[key]; ok {
		for i, k := range pm.order {
			if k == key {
				pm.order = append(pm.order[:i], pm.order[i+1:]...)
				break
			}
		}
	}
	pm.m[key] = v
	pm.order = append(pm.order, key)
	for len(pm.order) > maxRememberedProfiles {
		delete(pm.m, pm.order[0])
		pm.order = pm.order[1:]
	}
	if pm.file == "" {
		return nil
	}
	b, err := json.Marshal(struct {
		Order   []string          `json:"order"`
		Profile map[string]string `json:"profile"`
	}{pm.order, pm.m})
	if err != nil {
		return fmt.Errorf("%w: %w", errProfileFile, err)
	}
	if err := os.MkdirAll(filepath.Dir(pm.file), 0o700); err != nil {
		return fmt.Errorf("%w: %w", errProfileFile, err)
	}
	tmp := pm.file + ".tmp"
	if err := os.WriteFile(tmp, b, 0o600); err != nil {
		return fmt.Errorf("%w: %w", errProfileFile, err)
	}
	if err := os.Rename(tmp, pm.file); err != nil {
		return fmt.Errorf("%w: %w", errProfileFile, err)
	}
	return nil
}
