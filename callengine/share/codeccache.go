package share

import (
	"sync"
	"time"

	"github.com/parlo-voip/parlo/capture"
	"github.com/parlo-voip/parlo/capture/videocodec"
)

// DefaultCodecIdle is how long a CodecCache keeps an unused codec.
const DefaultCodecIdle = 30 * time.Second

// CodecCache keeps the encoder of the last share, its capture's picture
// buffers and the decoder of the last received share for a while after
// they stop, so that the next
// share (a restart, another monitor, a resume after hold, the next call)
// starts from codecs whose memory is already mapped. Opening libvpx's VP8
// encoder at 1080p allocates and clears ~57 MB and its first frames touch
// ~30 MB more; on the 2-core test VM every first touch of a 4-kB page costs
// 20–70 µs, so a cold encoder took 200–600 ms before its first keyframe
// and a cold decoder ~150 ms before its first picture. Idle codecs are
// closed after Idle, so a phone that stopped sharing gives the memory back.
// A nil *CodecCache caches nothing.
type CodecCache struct {
	idle time.Duration

	mu     sync.Mutex
	closed bool
	encs   []cachedEncoder
	decs   []cachedDecoder
	timer  *time.Timer
	// expiring counts expire runs past their closed check: Close waits
	// for them, so no codec is closed after Close returns.
	expiring sync.WaitGroup
	// warming are the encoders WarmShare is opening, by key; warm counts
	// its goroutines, which Close waits for.
	warming map[capture.EncoderOptions]bool
	warm    sync.WaitGroup

	// frames are the capture's picture buffers, expired with the codecs.
	frames capture.FrameBuffers
}

type cachedEncoder struct {
	codec videocodec.Name
	opts  capture.EncoderOptions // BitrateKbps zeroed: the key
	enc   capture.Encoder
	since time.Time
}

type cachedDecoder struct {
	codec videocodec.Name
	dec   capture.Decoder
	spare *capture.I420
	since time.Time
}

// NewCodecCache makes a cache whose codecs are closed after idle unused
// (DefaultCodecIdle when idle <= 0).
func NewCodecCache(idle time.Duration) *CodecCache {
	if idle <= 0 {
		idle = DefaultCodecIdle
	}
	return &CodecCache{idle: idle}
}

// WarmShare opens, in the background, the encoder a share of mon at fps
// would use, unless one is kept or being opened: a front end calls it when
// a share is likely soon (its share picker is open), so that the share
// starts without libvpx's set-up (200–600 ms at 1080p on the test VM). The
// encoder is kept like one handed back by a share, and closed after Idle
// if no share takes it.
func (c *CodecCache) WarmShare(mon capture.Monitor, fps int) {
	if c == nil || mon.Width <= 0 || mon.Height <= 0 {
		return
	}
	codec := videocodec.All()[0]
	o := shareEncoderOptions(mon, fps, StartKbps)
	key := encoderKey(o)
	c.mu.Lock()
	if c.closed || c.warming[key] || codec != videocodec.VP8 {
		c.mu.Unlock()
		return
	}
	for _, e := range c.encs {
		if e.codec == codec && e.opts == key {
			c.mu.Unlock()
			return
		}
	}
	if c.warming == nil {
		c.warming = map[capture.EncoderOptions]bool{}
	}
	c.warming[key] = true
	c.warm.Add(1)
	c.mu.Unlock()
	go func() {
		defer c.warm.Done()
		enc, err := capture.NewEncoder(codec, o)
		c.mu.Lock()
		delete(c.warming, key)
		c.mu.Unlock()
		if err == nil {
			c.PutEncoder(codec, o, enc)
		}
	}()
}

// FrameBuffers is what a capture lends its picture buffers from and
// hands them back to (capture.SourceOptions.Buffers); nil on a nil cache.
func (c *CodecCache) FrameBuffers() *capture.FrameBuffers {
	if c == nil {
		return nil
	}
	return &c.frames
}

// encoderKey is what must match for a cached encoder to be reused: all
// options but the bitrate, which SetBitrate changes anyway.
func encoderKey(o capture.EncoderOptions) capture.EncoderOptions {
	o.BitrateKbps = 0
	return o
}

// Encoder returns an encoder of codec for o: a cached one with the same
// options (its bitrate set to o's, a keyframe requested, since its
// reference frames are another share's), else a new one.
func (c *CodecCache) Encoder(codec videocodec.Name, o capture.EncoderOptions) (capture.Encoder, error) {
	if c != nil {
		key := encoderKey(o)
		c.mu.Lock()
		for i, e := range c.encs {
			if e.codec == codec && e.opts == key {
				c.encs = append(c.encs[:i], c.encs[i+1:]...)
				c.mu.Unlock()
				if o.BitrateKbps > 0 {
					_ = e.enc.SetBitrate(o.BitrateKbps)
				}
				e.enc.RequestKeyframe()
				return e.enc, nil
			}
		}
		c.mu.Unlock()
	}
	return capture.NewEncoder(codec, o)
}

// PutEncoder hands back an encoder that no share uses any more, made for
// o. A VP8 encoder is kept (one per options, the newest) until Idle passes
// or the cache closes: its timestamps count frames at the nominal rate, so
// the pause between two shares does not make libvpx spend seconds' worth
// of bits on the next keyframe. Others, and any on a nil or closed cache,
// are closed at once.
func (c *CodecCache) PutEncoder(codec videocodec.Name, o capture.EncoderOptions, enc capture.Encoder) {
	if c == nil || codec != videocodec.VP8 {
		_ = enc.Close()
		return
	}
	key := encoderKey(o)
	var drop []capture.Encoder
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		_ = enc.Close()
		return
	}
	kept := c.encs[:0]
	for _, e := range c.encs {
		if e.codec == codec && e.opts == key {
			drop = append(drop, e.enc)
			continue
		}
		kept = append(kept, e)
	}
	c.encs = append(kept, cachedEncoder{codec: codec, opts: key, enc: enc, since: time.Now()})
	c.armLocked()
	c.mu.Unlock()
	for _, e := range drop {
		_ = e.Close()
	}
}

// Decoder returns a decoder of codec and a picture buffer to decode into,
// cached ones when there are (reused reports it: the caller must start it
// on a keyframe, since its reference frames are another stream's).
func (c *CodecCache) Decoder(codec videocodec.Name) (dec capture.Decoder, spare *capture.I420, reused bool, err error) {
	if c != nil {
		c.mu.Lock()
		for i, d := range c.decs {
			if d.codec == codec {
				c.decs = append(c.decs[:i], c.decs[i+1:]...)
				c.mu.Unlock()
				return d.dec, d.spare, true, nil
			}
		}
		c.mu.Unlock()
	}
	dec, err = capture.NewDecoder(codec, 1)
	return dec, nil, false, err
}

// PutDecoder hands back a decoder (and its spare picture, which may be
// nil) that no receiver uses any more; kept like PutEncoder's encoders.
func (c *CodecCache) PutDecoder(codec videocodec.Name, dec capture.Decoder, spare *capture.I420) {
	if c == nil {
		_ = dec.Close()
		return
	}
	var drop []capture.Decoder
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		_ = dec.Close()
		return
	}
	kept := c.decs[:0]
	for _, d := range c.decs {
		if d.codec == codec {
			drop = append(drop, d.dec)
			continue
		}
		kept = append(kept, d)
	}
	c.decs = append(kept, cachedDecoder{codec: codec, dec: dec, spare: spare, since: time.Now()})
	c.armLocked()
	c.mu.Unlock()
	for _, d := range drop {
		_ = d.Close()
	}
}

// armLocked makes sure the expiry timer runs; mu is held.
func (c *CodecCache) armLocked() {
	if c.timer == nil {
		c.timer = time.AfterFunc(c.idle, c.expire)
		return
	}
	c.timer.Reset(c.idle)
}

// expire closes the codecs unused for Idle and re-arms for the others.
func (c *CodecCache) expire() {
	now := time.Now()
	var encs []capture.Encoder
	var decs []capture.Decoder
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return
	}
	c.expiring.Add(1)
	defer c.expiring.Done()
	next := time.Duration(0)
	keptE := c.encs[:0]
	for _, e := range c.encs {
		if age := now.Sub(e.since); age >= c.idle {
			encs = append(encs, e.enc)
		} else {
			keptE = append(keptE, e)
			if left := c.idle - age; next == 0 || left < next {
				next = left
			}
		}
	}
	c.encs = keptE
	keptD := c.decs[:0]
	for _, d := range c.decs {
		if age := now.Sub(d.since); age >= c.idle {
			decs = append(decs, d.dec)
		} else {
			keptD = append(keptD, d)
			if left := c.idle - age; next == 0 || left < next {
				next = left
			}
		}
	}
	c.decs = keptD
	c.frames.Drop(c.idle)
	if next == 0 && c.frames.Kept() {
		next = c.idle
	}
	if next > 0 {
		c.timer.Reset(next)
	}
	c.mu.Unlock()
	for _, e := range encs {
		_ = e.Close()
	}
	for _, d := range decs {
		_ = d.Close()
	}
}

// Len reports how many encoders and decoders are kept.
func (c *CodecCache) Len() (encoders, decoders int) {
	if c == nil {
		return 0, 0
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.encs), len(c.decs)
}

// Close closes every kept codec; later Puts close theirs at once.
// Idempotent.
func (c *CodecCache) Close() error {
	if c == nil {
		return nil
	}
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return nil
	}
	c.closed = true
	if c.timer != nil {
		c.timer.Stop()
	}
	encs, decs := c.encs, c.decs
	c.encs, c.decs = nil, nil
	c.mu.Unlock()
	c.expiring.Wait()
	// A warm-up ending now hands its encoder to the closed cache, which
	// closes it.
	c.warm.Wait()
	c.frames.Close()
	for _, e := range encs {
		_ = e.enc.Close()
	}
	for _, d := range decs {
		_ = d.dec.Close()
	}
	return nil
}
