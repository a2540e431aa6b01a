package share

import (
	"errors"
	"image"
	"image/png"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/parlo-voip/parlo/callengine/media"
	"github.com/parlo-voip/parlo/capture"
	"github.com/parlo-voip/parlo/capture/videocodec"
)

// ErrNoFrame means no remote video frame has been decoded yet.
var ErrNoFrame = errors.New("share: no remote video frame decoded yet")

// errNeedKeyframe refuses an inter frame a decoder cannot start from.
var errNeedKeyframe = errors.New("share: waiting for a keyframe")

// Receiver decodes the peer's video and keeps only the latest frame: a UI
// draws whatever is newest, never a backlog. It is the call's
// media.VideoSink.
type Receiver struct {
	mu      sync.Mutex
	dec     capture.Decoder
	decName videocodec.Name // the codec dec decodes
	latest  *capture.I420
	spare   *capture.I420
	seq     uint64
	closed  bool
	decoded atomic.Uint64
	refused atomic.Uint64 // frames over the decoders' size cap
	meter   fpsMeter
	codec   videocodec.Name
	notify  chan struct{}

	// codecs lends a warm decoder and takes it back on Close; needKey
	// holds back a lent decoder's frames until a keyframe.
	codecs  *CodecCache
	needKey bool

	// The RGBA picture of the frame numbered rgbaSeq, converted on demand
	// (fitted into rgbaFitW x rgbaFitH, 0 for full size) and shared: a UI
	// reading it more than once converts each new frame once.
	rgba               *image.RGBA
	rgbaSeq            uint64
	rgbaFitW, rgbaFitH int
	fitScratch         capture.I420 // the scaled planes ToRGBAFit reuses
}

// ReceiverOptions configure a Receiver.
type ReceiverOptions struct {
	// Codecs, when set, lends a warm decoder for the first frame and takes
	// it back on Close (see CodecCache).
	Codecs *CodecCache
}

// NewReceiver makes a Receiver; the decoder is opened with the first frame.
func NewReceiver(o ReceiverOptions) *Receiver {
	return &Receiver{notify: make(chan struct{}, 1), codecs: o.Codecs}
}

// WriteVideoFrame implements media.VideoSink. An error makes the media
// session ask the sender for a keyframe.
func (r *Receiver) WriteVideoFrame(codec videocodec.Name, frame []byte) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return nil
	}
	if r.dec == nil || r.decName != codec {
		// First frame, or the peer switched codecs in a re-INVITE.
		d, spare, reused, err := r.codecs.Decoder(codec)
		if err != nil {
			return err
		}
		r.release()
		r.dec, r.decName, r.needKey = d, codec, reused
		if spare != nil {
			r.spare = spare
		}
	}
	if r.needKey {
		// A lent decoder holds another stream's reference frames: an inter
		// frame would be drawn over that stream's picture. The error asks
		// the sender for a keyframe.
		if _, _, key := capture.VP8KeyframeSize(frame); !key {
			return errNeedKeyframe
		}
		r.needKey = false
	}
	if r.spare == nil {
		r.spare = &capture.I420{}
	}
	ok, err := r.dec.DecodeInto(r.spare, frame)
	if errors.Is(err, capture.ErrFrameTooLarge) {
		// A resolution bomb or a broken sender: nothing was allocated;
		// the error makes the session send a (rate-limited) PLI.
		r.refused.Add(1)
	}
	if err != nil {
		return err
	}
	if !ok {
		return nil
	}
	r.latest, r.spare = r.spare, r.latest
	r.seq++
	r.codec = codec
	r.decoded.Add(1)
	r.meter.tick(time.Now())
	select {
	case r.notify <- struct{}{}:
	default:
	}
	return nil
}

// Latest returns the newest decoded frame as RGBA and its sequence number
// (nil and 0 before the first frame). The conversion is the limited-range
// BT.601 one the encoder side used; image.YCbCr would read the planes as
// full range and wash the colours out by about 8 %. Each frame is converted
// once; the returned image is shared and must not be modified.
func (r *Receiver) Latest() (image.Image, uint64) { return r.LatestFit(0, 0) }

// LatestFit is Latest scaled down (aspect kept) to fit maxW x maxH device
// pixels, the size a view shows it at; 0 means full size. See
// capture.I420.ToRGBAFit.
func (r *Receiver) LatestFit(maxW, maxH int) (image.Image, uint64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.latest == nil {
		return nil, 0
	}
	if maxW <= 0 || maxH <= 0 {
		maxW, maxH = 0, 0
	}
	if r.rgba == nil || r.rgbaSeq != r.seq || r.rgbaFitW != maxW || r.rgbaFitH != maxH {
		r.rgba, r.rgbaSeq, r.rgbaFitW, r.rgbaFitH = r.latest.ToRGBAFit(maxW, maxH, &r.fitScratch), r.seq, maxW, maxH
	}
	return r.rgba, r.seq
}

// Updated is signalled (coalesced) after each new frame.
func (r *Receiver) Updated() <-chan struct{} { return r.notify }

// SnapshotPNG writes the newest frame to path.
func (r *Receiver) SnapshotPNG(path string) error {
	img, seq := r.Latest()
	if seq == 0 {
		return ErrNoFrame
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := png.Encode(f, img); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// Stats fills what only the decoder knows: frames decoded and refused, the
// picture size and the frame rate (the codec once a frame was decoded).
func (r *Receiver) Stats(st *media.VideoReceivedStats) {
	r.mu.Lock()
	if r.latest != nil {
		st.Width, st.Height = r.latest.Width, r.latest.Height
	}
	codec := r.codec
	r.mu.Unlock()
	st.FramesDecoded = r.decoded.Load()
	if st.FramesDecoded > 0 {
		st.Codec = string(codec)
	}
	st.FPS = r.meter.rate()
	st.FramesRefused = r.refused.Load()
}

// Close frees the decoder (hands it back to ReceiverOptions.Codecs);
// frames written after it are dropped.
func (r *Receiver) Close() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.closed = true
	r.release()
}

// release gives up the decoder: a VP8 one goes back to the cache with the
// spare picture (no one else holds it), any other is closed. mu is held.
func (r *Receiver) release() {
	if r.dec == nil {
		return
	}
	if r.decName == videocodec.VP8 && r.codecs != nil {
		r.codecs.PutDecoder(r.decName, r.dec, r.spare)
		r.spare = nil
	} else {
		r.dec.Close()
	}
	r.dec = nil
}
