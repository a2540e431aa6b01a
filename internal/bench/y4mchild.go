package bench

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime"
	"syscall"
	"time"

	"github.com/parlo-voip/parlo/capture"
)

// EncoderSettings is the rate control both encoders of a pair get, so that
// the pair compares encoders doing the same work: Parlo's through
// capture.VP8Options and its fixed libvpx configuration, ffmpeg's through
// FFmpegArgs. The fields not listed are the same constants on both sides
// (see FFmpegArgs).
type EncoderSettings struct {
	CPUUsed       int  // libvpx VP8E_SET_CPUUSED; negative = fixed speed, no self-tuning
	BitrateKbps   int  // CBR target
	ScreenContent bool // VP8E_SET_SCREEN_CONTENT_MODE (Parlo only: ffmpeg 5.1 does not expose it)
	FPS           int
}

// VP8Options are Parlo's encoder options for s: one thread (ffmpeg gets
// -threads 1), keyframe every 10 s, static threshold 1.
func (s EncoderSettings) VP8Options(w, h int) capture.VP8Options {
	return capture.VP8Options{EncoderOptions: capture.EncoderOptions{Width: w, Height: h, FPS: s.FPS, BitrateKbps: s.BitrateKbps, ScreenContent: s.ScreenContent, Threads: 1, KeyframeInterval: 10 * s.FPS}, CPUUsed: s.CPUUsed, StaticThreshold: 1}
}

// FFmpegArgs are ffmpeg's libvpx encoder options matching VP8Options and the
// constants of capture.NewVP8Encoder: real-time deadline, CBR (min = max =
// target rate), quantizer 2–56, undershoot 100 %, overshoot 15 %, buffer
// 1000 ms starting at 500 ms, no frame dropping, keyframe interval, static
// threshold 1, noise sensitivity 0, intra frames capped at 300 %, error
// resilience "default", no look-ahead or alt-ref, one thread. The one
// difference ffmpeg cannot express: its optimal buffer level is 5/6 of the
// buffer (833 ms) where Parlo's is 600 ms.
func (s EncoderSettings) FFmpegArgs() []string {
	rate := fmt.Sprintf("%dk", s.BitrateKbps)
	return []string{"-c:v", "libvpx", "-deadline", "realtime", "-cpu-used", fmt.Sprint(s.CPUUsed),
		"-b:v", rate, "-minrate", rate, "-maxrate", rate, "-bufsize", rate,
		"-rc_init_occupancy", fmt.Sprintf("%dk", s.BitrateKbps/2),
		"-qmin", "2", "-qmax", "56", "-undershoot-pct", "100", "-overshoot-pct", "15",
		"-g", fmt.Sprint(10 * s.FPS), "-static-thresh", "1", "-noise-sensitivity", "0", "-max-intra-rate", "300",
		"-error-resilient", "default", "-lag-in-frames", "0", "-auto-alt-ref", "0", "-drop-threshold", "0",
		"-threads", "1"}
}

// Y4MEncodeResult is the child's report after the last frame.
type Y4MEncodeResult struct {
	Source        int     `json:"source"`  // frames read
	Frames        int     `json:"frames"`  // frames encoded (changed or refresh)
	Bytes         int     `json:"bytes"`   // their payload
	EncodeSeconds float64 `json:"encodeS"` // wall time inside EncodeFrame
	// EncodeCPU is the CPU time (user+system) of the thread running
	// EncodeFrame, summed over the calls: the encoder alone, without
	// reading the file, change detection or process start-up.
	EncodeCPU float64 `json:"encodeCPU"`
}

// threadCPU is the calling OS thread's user+system time (getrusage
// RUSAGE_THREAD); the caller must hold runtime.LockOSThread.
func threadCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(rusageThread, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// rusageThread is RUSAGE_THREAD (getrusage(2)), which package syscall does
// not name.
const rusageThread = 1

// RunY4MEncodeChild encodes a recorded y4m file the way the engine's
// share.Sender encodes a capture: a frame goes to VP8Encoder.EncodeFrame
// only when it differs from the previous one (rows compared as
// capture.Source does, the changed span as Frame.Dirty) or when a second has
// passed since the last one sent (a refresh, as an inter frame). Frames are
// timestamped at their source position, so libvpx's rate control sees 30
// frames a second however fast they are encoded. The stream goes to out as
// IVF, the result to report as one JSON line.
func RunY4MEncodeChild(in, out string, s EncoderSettings, report io.Writer) error {
	f, err := os.Open(in)
	if err != nil {
		return err
	}
	defer f.Close()
	y, err := NewY4MReader(f)
	if err != nil {
		return err
	}
	if s.FPS == 0 {
		s.FPS = y.RateNum / y.RateD
	}
	enc, err := capture.NewVP8Encoder(s.VP8Options(y.Width, y.Height))
	if err != nil {
		return err
	}
	defer enc.Close()
	o, err := os.Create(out)
	if err != nil {
		return err
	}
	defer o.Close()
	bw := bufio.NewWriterSize(o, 1<<20)
	ivf, err := NewIVFWriter(bw, y.Width, y.Height, y.RateNum, y.RateD)
	if err != nil {
		return err
	}
	// One thread encodes (libvpx with g_threads 1 works on the caller's
	// thread), so its CPU time is the encoder's.
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	var encodeCPU time.Duration
	base := time.Now()
	frameDur := time.Second * time.Duration(y.RateD) / time.Duration(y.RateNum)
	var (
		res        Y4MEncodeResult
		cur, prev  *capture.I420
		seq        uint64
		lastSent   = -1
		encodeTime time.Duration
	)
	for i := 0; ; i++ {
		cur, err = y.Next(cur)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return err
		}
		res.Source++
		changed, span := true, capture.DirtyRows{First: 0, Last: y.Height - 1}
		if prev != nil {
			changed, span = dirtyI420(prev, cur)
		}
		refresh := !changed && time.Duration(i-lastSent)*frameDur >= time.Second
		if !changed && !refresh {
			continue
		}
		if refresh {
			span = capture.DirtyRows{First: 0, Last: y.Height - 1}
		}
		t0, c0 := time.Now(), threadCPU()
		data, _, err := enc.EncodeFrame(capture.Frame{Image: cur, Time: base.Add(time.Duration(i) * frameDur),
			Seq: seq, Refresh: refresh, Dirty: span}, false)
		encodeCPU += threadCPU() - c0
		encodeTime += time.Since(t0)
		if err != nil {
			return err
		}
		seq++
		lastSent = i
		if prev == nil {
			prev = cur.Clone()
		} else if changed {
			// Only the changed rows, as capture.ChangeDetector does.
			a, b := span.First, span.Last+1
			copy(prev.Y[a*cur.StrideY:b*cur.StrideY], cur.Y[a*cur.StrideY:b*cur.StrideY])
			ca, cb := a/2, (b+1)/2
			copy(prev.U[ca*cur.StrideUV:cb*cur.StrideUV], cur.U[ca*cur.StrideUV:cb*cur.StrideUV])
			copy(prev.V[ca*cur.StrideUV:cb*cur.StrideUV], cur.V[ca*cur.StrideUV:cb*cur.StrideUV])
		}
		if len(data) == 0 {
			continue
		}
		res.Frames++
		res.Bytes += len(data)
		if err := ivf.Write(data, uint64(i)); err != nil {
			return err
		}
	}
	if err := bw.Flush(); err != nil {
		return err
	}
	res.EncodeSeconds = encodeTime.Seconds()
	res.EncodeCPU = encodeCPU.Seconds()
	return json.NewEncoder(report).Encode(res)
}
