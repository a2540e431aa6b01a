package capture

import (
	"errors"
	"fmt"
	"image"
	"sync"
	"time"
)

// thumbnailIdle is how long an unused thumbnail grabber stays open. A picker
// refreshes thumbnails about once a second; keeping the connection and segment
// between refreshes makes each one a single shm GetImage.
const thumbnailIdle = 5 * time.Second

// thumbnailCache holds one grabber per display for Thumbnail. The idle timer
// owns closing it.
type thumbnailCache struct {
	mu       sync.Mutex
	grabbers map[string]*cachedGrabber
}

type cachedGrabber struct {
	g        grabber
	timer    *time.Timer
	lastUsed time.Time
}

var thumbnails = &thumbnailCache{grabbers: map[string]*cachedGrabber{}}

// Thumbnail grabs monitor m and scales it down with a box filter to fit in
// maxW x maxH, keeping the aspect ratio. It is cheap enough to call once a
// second per monitor (one grab plus one pass over the pixels).
func Thumbnail(m Monitor, maxW, maxH int) (image.Image, error) {
	if maxW <= 0 || maxH <= 0 {
		return nil, fmt.Errorf("capture: thumbnail size %dx%d", maxW, maxH)
	}
	f, release, err := thumbnails.grab(m)
	if err != nil {
		return nil, err
	}
	defer release()
	return downscaleBox(f, maxW, maxH), nil
}

// grab returns a frame of m and a function to call once the frame is used;
// the cache lock is held meanwhile because the frame lives in the shared
// grabber's buffer.
func (c *thumbnailCache) grab(m Monitor) (BGRAFrame, func(), error) {
	c.mu.Lock()
	key := displayName(m.Display)
	for attempt := 0; ; attempt++ {
		cg, err := c.get(key)
		if err != nil {
			c.mu.Unlock()
			return BGRAFrame{}, nil, err
		}
		f, err := cg.g.Grab(m.Rect())
		if err == nil {
			return f, c.mu.Unlock, nil
		}
		// A stale connection (server restarted) is retried once afresh.
		c.drop(key)
		if attempt > 0 || !errors.Is(err, ErrNoDisplay) {
			c.mu.Unlock()
			return BGRAFrame{}, nil, err
		}
	}
}

func (c *thumbnailCache) get(key string) (*cachedGrabber, error) {
	if cg, ok := c.grabbers[key]; ok {
		cg.lastUsed = time.Now()
		cg.timer.Reset(thumbnailIdle)
		return cg, nil
	}
	g, err := openGrabber(key, true)
	if err != nil {
		return nil, err
	}
	cg := &cachedGrabber{g: g, lastUsed: time.Now()}
	cg.timer = time.AfterFunc(thumbnailIdle, func() {
		c.mu.Lock()
		defer c.mu.Unlock()
		// A use between the timer firing and this lock re-armed the timer:
		// only the last firing closes.
		if c.grabbers[key] == cg && time.Since(cg.lastUsed) >= thumbnailIdle {
			c.drop(key)
		}
	})
	c.grabbers[key] = cg
	return cg, nil
}

func (c *thumbnailCache) drop(key string) {
	if cg, ok := c.grabbers[key]; ok {
		cg.timer.Stop()
		_ = cg.g.Close()
		delete(c.grabbers, key)
	}
}

// downscaleBox averages each box of source pixels into one RGBA pixel. The
// scale keeps the aspect ratio and never enlarges.
func downscaleBox(f BGRAFrame, maxW, maxH int) *image.RGBA {
	w, h := f.Width, f.Height
	if w > maxW || h > maxH {
		if w*maxH > h*maxW {
			w, h = maxW, max(1, f.Height*maxW/f.Width)
		} else {
			w, h = max(1, f.Width*maxH/f.Height), maxH
		}
	}
	dst := image.NewRGBA(image.Rect(0, 0, w, h))
	sums := make([]uint32, w*4)
	counts := make([]uint32, w)
	// Precompute the source column of each destination column boundary.
	x0s := make([]int, w+1)
	for dx := 0; dx <= w; dx++ {
		x0s[dx] = dx * f.Width / w
	}
	for dy := 0; dy < h; dy++ {
		clear(sums)
		clear(counts)
		y0, y1 := dy*f.Height/h, (dy+1)*f.Height/h
		for sy := y0; sy < y1; sy++ {
			row := f.Pix[sy*f.Stride : sy*f.Stride+f.Width*4]
			for dx := 0; dx < w; dx++ {
				s := sums[dx*4 : dx*4+3 : dx*4+3]
				for sx := x0s[dx]; sx < x0s[dx+1]; sx++ {
					p := row[sx*4 : sx*4+3 : sx*4+3]
					s[0] += uint32(p[2])
					s[1] += uint32(p[1])
					s[2] += uint32(p[0])
				}
				counts[dx] += uint32(x0s[dx+1] - x0s[dx])
			}
		}
		out := dst.Pix[dy*dst.Stride : dy*dst.Stride+w*4]
		for dx := 0; dx < w; dx++ {
			n := max(counts[dx], 1)
			out[dx*4] = byte((sums[dx*4] + n/2) / n)
			out[dx*4+1] = byte((sums[dx*4+1] + n/2) / n)
			out[dx*4+2] = byte((sums[dx*4+2] + n/2) / n)
			out[dx*4+3] = 0xff
		}
	}
	return dst
}
