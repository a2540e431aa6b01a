package share

import (
	"testing"
	"time"

	"github.com/parlo-voip/parlo/capture"
	"github.com/parlo-voip/parlo/capture/videocodec"
)

func smallEncoderOptions() capture.EncoderOptions {
	return capture.EncoderOptions{Width: 64, Height: 48, FPS: 30, BitrateKbps: 300, Threads: 1}
}

// An encoder handed back is lent again for the same options only, and
// starts the next share with a keyframe.
func TestCodecCacheReusesEncoder(t *testing.T) {
	c := NewCodecCache(time.Minute)
	defer c.Close()
	o := smallEncoderOptions()
	enc, err := c.Encoder(videocodec.VP8, o)
	if err != nil {
		t.Fatal(err)
	}
	pic := capture.NewI420(64, 48)
	for i := 0; i < 3; i++ {
		if _, _, err := enc.Encode(pic, false); err != nil {
			t.Fatal(err)
		}
	}
	c.PutEncoder(videocodec.VP8, o, enc)
	if e, d := c.Len(); e != 1 || d != 0 {
		t.Fatalf("kept %d encoders, %d decoders; want 1, 0", e, d)
	}

	tests := []struct {
		name  string
		codec videocodec.Name
		opts  func(capture.EncoderOptions) capture.EncoderOptions
		same  bool
	}{
		{"other size", videocodec.VP8, func(o capture.EncoderOptions) capture.EncoderOptions { o.Width = 128; return o }, false},
		{"other fps", videocodec.VP8, func(o capture.EncoderOptions) capture.EncoderOptions { o.FPS = 15; return o }, false},
		{"other bitrate", videocodec.VP8, func(o capture.EncoderOptions) capture.EncoderOptions { o.BitrateKbps = 900; return o }, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := c.Encoder(tc.codec, tc.opts(o))
			if err != nil {
				t.Fatal(err)
			}
			if (got == enc) != tc.same {
				t.Fatalf("reused %v, want %v", got == enc, tc.same)
			}
			if !tc.same {
				_ = got.Close()
				return
			}
			if got.Bitrate() != 900 {
				t.Fatalf("bitrate %d, want the new share's 900", got.Bitrate())
			}
			// Seconds after the last frame, the reused encoder's first one
			// is a keyframe of ordinary size.
			time.Sleep(50 * time.Millisecond)
			if _, key, err := got.Encode(pic, false); err != nil || !key {
				t.Fatalf("first frame after reuse: keyframe %v, %v", key, err)
			}
			c.PutEncoder(tc.codec, tc.opts(o), got)
		})
	}
}

// Idle codecs are closed after the idle time; Close closes the rest, and
// a codec handed back after Close is closed at once.
func TestCodecCacheExpiresAndCloses(t *testing.T) {
	c := NewCodecCache(100 * time.Millisecond)
	o := smallEncoderOptions()
	enc, err := c.Encoder(videocodec.VP8, o)
	if err != nil {
		t.Fatal(err)
	}
	dec, _, reused, err := c.Decoder(videocodec.VP8)
	if err != nil || reused {
		t.Fatalf("first decoder: reused %v, %v", reused, err)
	}
	c.PutEncoder(videocodec.VP8, o, enc)
	c.PutDecoder(videocodec.VP8, dec, nil)
	deadline := time.Now().Add(5 * time.Second)
	for {
		e, d := c.Len()
		if e == 0 && d == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("still %d encoders, %d decoders kept after the idle time", e, d)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if _, _, err := enc.Encode(capture.NewI420(64, 48), false); err == nil {
		t.Fatal("the expired encoder still encodes")
	}

	enc2, err := c.Encoder(videocodec.VP8, o)
	if err != nil {
		t.Fatal(err)
	}
	c.PutEncoder(videocodec.VP8, o, enc2)
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	if err := c.Close(); err != nil {
		t.Fatal("second Close:", err)
	}
	if _, _, err := enc2.Encode(capture.NewI420(64, 48), false); err == nil {
		t.Fatal("an encoder kept at Close still encodes")
	}
	enc3, err := capture.NewEncoder(videocodec.VP8, o)
	if err != nil {
		t.Fatal(err)
	}
	c.PutEncoder(videocodec.VP8, o, enc3)
	if e, _ := c.Len(); e != 0 {
		t.Fatal("a closed cache kept an encoder")
	}
	if _, _, err := enc3.Encode(capture.NewI420(64, 48), false); err == nil {
		t.Fatal("an encoder handed to a closed cache still encodes")
	}
}

// A receiver on a lent decoder, which holds another stream's reference
// frames, refuses inter frames until a keyframe (the refusal makes the
// session send PLI), then decodes as usual.
func TestReceiverOnReusedDecoderStartsAtKeyframe(t *testing.T) {
	c := NewCodecCache(time.Minute)
	defer c.Close()
	enc, err := capture.NewVP8Encoder(capture.VP8Options{EncoderOptions: smallEncoderOptions(), CPUUsed: 16})
	if err != nil {
		t.Fatal(err)
	}
	defer enc.Close()
	pic := capture.NewI420(64, 48)
	key, isKey, err := enc.Encode(pic, true)
	if err != nil || !isKey {
		t.Fatalf("keyframe: %v %v", isKey, err)
	}
	pic.Y[100] = 200
	inter, isKey, err := enc.Encode(pic, false)
	if err != nil || isKey {
		t.Fatalf("inter frame: %v %v", isKey, err)
	}

	first := NewReceiver(ReceiverOptions{Codecs: c})
	if err := first.WriteVideoFrame(videocodec.VP8, key); err != nil {
		t.Fatal(err)
	}
	first.Close()
	if _, d := c.Len(); d != 1 {
		t.Fatalf("the closed receiver's decoder was not kept (%d)", d)
	}

	second := NewReceiver(ReceiverOptions{Codecs: c})
	defer second.Close()
	if err := second.WriteVideoFrame(videocodec.VP8, inter); err == nil {
		t.Fatal("a reused decoder decoded an inter frame of another stream")
	}
	if _, seq := second.Latest(); seq != 0 {
		t.Fatalf("a picture came out of the refused frame (seq %d)", seq)
	}
	if err := second.WriteVideoFrame(videocodec.VP8, key); err != nil {
		t.Fatal(err)
	}
	if err := second.WriteVideoFrame(videocodec.VP8, inter); err != nil {
		t.Fatal(err)
	}
	if _, seq := second.Latest(); seq != 2 {
		t.Fatalf("decoded %d frames after the keyframe, want 2", seq)
	}
}

// WarmShare opens the encoder a share of the monitor takes, once however
// often it is called; the share's encoder request is served from it. A
// warm-up after Close opens nothing.
func TestCodecCacheWarmShare(t *testing.T) {
	c := NewCodecCache(time.Minute)
	defer c.Close()
	mon := capture.Monitor{Name: "test", Width: 64, Height: 48}
	for range 3 {
		c.WarmShare(mon, 0)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		e, _ := c.Len()
		if e == 1 {
			break
		}
		if e > 1 || time.Now().After(deadline) {
			t.Fatalf("%d encoders kept after warming one monitor", e)
		}
		time.Sleep(10 * time.Millisecond)
	}
	enc, err := c.Encoder(videocodec.VP8, shareEncoderOptions(mon, 30, 900))
	if err != nil {
		t.Fatal(err)
	}
	if e, _ := c.Len(); e != 0 {
		t.Fatal("the share did not take the warmed encoder")
	}
	if enc.Bitrate() != 900 {
		t.Fatalf("bitrate %d, want the share's 900", enc.Bitrate())
	}
	_ = enc.Close()

	closed := NewCodecCache(time.Minute)
	closed.Close()
	closed.WarmShare(mon, 0)
	if e, _ := closed.Len(); e != 0 {
		t.Fatal("a closed cache warmed an encoder")
	}
}
