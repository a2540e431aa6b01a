package bench

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"
	"runtime/pprof"
	"sync"
	"sync/atomic"
	"time"

	"github.com/parlo-voip/parlo/capture"
)

// PipelineSample is what the pipeline child reports on each "mark" line:
// counters since it started, read at the moment the parent also reads the
// child's CPU time.
type PipelineSample struct {
	Ready         bool    `json:"ready,omitempty"`
	Captured      uint64  `json:"captured"`  // frames grabbed
	Delivered     uint64  `json:"delivered"` // frames handed to the encoder
	Frames        uint64  `json:"frames"`    // encoded frames that would be sent
	Bytes         uint64  `json:"bytes"`     // their payload
	EncodeSeconds float64 `json:"encodeSeconds"`
	// Answer to "ssim" (capture stopped first): the SSIM of the picture a
	// receiver decodes from everything sent since the last keyframe
	// against the screen grabbed now, and against the last frame the
	// encoder got.
	SSIMScreen float64 `json:"ssimScreen,omitempty"`
	SSIMSource float64 `json:"ssimSource,omitempty"`
}

// PipelineOptions mirror the engine's screen sender (callengine/share/sender.go):
// 30 fps, VP8 at 2500 kbps, cpu-used 12, screen-content mode.
type PipelineOptions struct {
	Display    string
	FPS        int
	CPUProfile string // write a CPU profile of the run here when set
	// Encoder overrides the engine's settings (the encoder pairs run both
	// pipelines at one fixed cpu-used); zero: the engine's.
	Encoder EncoderSettings
	// Polling makes the Source grab and compare every tick instead of
	// following X damage: the capture before damage tracking.
	Polling bool
}

// RunPipelineChild runs the screen-share pipeline exactly as the engine's
// share.Sender builds it — capture.Source (MIT-SHM grab, change detection,
// BGRA→I420 of the dirty rows) feeding capture.VP8Encoder with the same
// options — on the first monitor of o.Display, without SIP or RTP. It is
// meant to be its own process, so that the parent can read the pipeline's
// CPU time alone from /proc. Protocol on in/out, one JSON object per line:
// it writes {"ready":true,…} once capturing, answers each "mark" line with a
// PipelineSample, and returns after a "quit" line or the end of in.
func RunPipelineChild(o PipelineOptions, in io.Reader, out io.Writer) error {
	if o.FPS <= 0 {
		o.FPS = 30
	}
	mons, err := capture.MonitorsOn(o.Display)
	if err != nil || len(mons) == 0 {
		return fmt.Errorf("bench: monitors on %s: %w (%d)", o.Display, err, len(mons))
	}
	mon := mons[0]
	if o.CPUProfile != "" {
		f, err := os.Create(o.CPUProfile)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}
	vo := capture.VP8Options{EncoderOptions: capture.EncoderOptions{Width: mon.Width, Height: mon.Height, FPS: o.FPS, BitrateKbps: 2500, ScreenContent: true}, CPUUsed: 12}
	if o.Encoder.CPUUsed != 0 {
		o.Encoder.FPS = o.FPS
		vo = o.Encoder.VP8Options(mon.Width, mon.Height)
	}
	enc, err := capture.NewVP8Encoder(vo)
	if err != nil {
		return err
	}
	defer enc.Close()
	var frames, bytes, encNanos atomic.Uint64
	// What a receiver needs to decode the current picture: the frames
	// since the last keyframe (kept for "ssim"; appending costs next to
	// nothing beside the encode), and the last source picture (lent; only
	// read after the Source is closed).
	var keptMu sync.Mutex
	var kept [][]byte
	var lastImage *capture.I420
	src, err := capture.NewSource(mon, capture.SourceOptions{
		FPS:     o.FPS,
		Polling: o.Polling,
		Logger:  slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn})),
		OnFrame: func(f capture.Frame) {
			t0 := time.Now()
			// As share.Sender: a refresh is an ordinary inter frame, and
			// EncodeFrame restricts libvpx to the rows that changed.
			data, key, err := enc.EncodeFrame(f, false)
			encNanos.Add(uint64(time.Since(t0)))
			if err != nil || len(data) == 0 {
				return
			}
			keptMu.Lock()
			if key {
				kept = kept[:0]
			}
			kept = append(kept, append([]byte(nil), data...))
			lastImage = f.Image
			keptMu.Unlock()
			frames.Add(1)
			bytes.Add(uint64(len(data)))
		},
	})
	if err != nil {
		return err
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	if err := src.Start(ctx); err != nil {
		src.Close()
		return err
	}
	defer src.Close()

	var mu sync.Mutex
	enc2 := json.NewEncoder(out)
	report := func(ready bool) error {
		mu.Lock()
		defer mu.Unlock()
		st := src.Stats()
		return enc2.Encode(PipelineSample{
			Ready: ready, Captured: st.Captured, Delivered: st.Delivered,
			Frames: frames.Load(), Bytes: bytes.Load(),
			EncodeSeconds: float64(encNanos.Load()) / 1e9,
		})
	}
	if err := report(true); err != nil {
		return err
	}
	sc := bufio.NewScanner(in)
	for sc.Scan() {
		switch sc.Text() {
		case "mark":
			if err := report(false); err != nil {
				return err
			}
		case "ssim":
			src.Close()
			keptMu.Lock()
			sample, err := pipelineSSIM(mon, kept, lastImage)
			keptMu.Unlock()
			if err != nil {
				return err
			}
			mu.Lock()
			err = enc2.Encode(sample)
			mu.Unlock()
			if err != nil {
				return err
			}
			continue
		case "quit":
			return nil
		}
		select {
		case <-src.Done():
			return fmt.Errorf("bench: capture stopped: %w", src.Err())
		default:
		}
	}
	return sc.Err()
}

// pipelineSSIM decodes frames (a keyframe and what followed) as a receiver
// would and compares the result with the screen now and with last.
func pipelineSSIM(mon capture.Monitor, frames [][]byte, last *capture.I420) (PipelineSample, error) {
	if len(frames) == 0 || last == nil {
		return PipelineSample{}, fmt.Errorf("bench: no frame encoded")
	}
	dec, err := capture.NewVP8Decoder(1)
	if err != nil {
		return PipelineSample{}, err
	}
	defer dec.Close()
	var pic *capture.I420
	for _, f := range frames {
		if pic, err = dec.Decode(f); err != nil {
			return PipelineSample{}, err
		}
	}
	g, err := capture.NewX11Grabber(mon.Display)
	if err != nil {
		return PipelineSample{}, err
	}
	defer g.Close()
	shot, err := g.Grab(mon.Rect())
	if err != nil {
		return PipelineSample{}, err
	}
	screen := capture.NewI420(shot.Width, shot.Height)
	capture.BGRAToI420(screen, shot.Pix, shot.Stride, shot.Width, shot.Height)
	return PipelineSample{SSIMScreen: capture.SSIMY(pic, screen), SSIMSource: capture.SSIMY(pic, last)}, nil
}
