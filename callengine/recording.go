package callengine

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/parlo-voip/parlo/callengine/audio"
)

// ErrRecording is returned for a recording request the call's state does
// not allow (none running, one already running, no folder).
var ErrRecording = errors.New("callengine: recording")

// RecordingsEnv is the environment variable that overrides the default
// folder of recordings (tests point it at a temporary folder).
const RecordingsEnv = "PARLO_RECORDINGS"

// DefaultRecordingsDir is the folder of recordings a new user gets:
// $PARLO_RECORDINGS, else ~/Recordings/Parlo (the XDG user directories
// have none for recordings). It is created on the first recording, not
// here. getenv reads the environment (os.Getenv).
func DefaultRecordingsDir(getenv func(string) string) string {
	if d := getenv(RecordingsEnv); d != "" {
		return d
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return filepath.Join(os.TempDir(), "parlo-recordings")
	}
	return filepath.Join(home, "Recordings", "Parlo")
}

// PrepareRecordingsDir checks that dir can hold recordings: a full path to
// a folder that exists or can be created (it is created, private to the
// user). Front ends call it when the user sets the folder, so a bad choice
// is reported then, naming their own field, not at the first recording.
func PrepareRecordingsDir(dir string) error {
	if !filepath.IsAbs(dir) {
		return fmt.Errorf("%w: %q is not a full path", ErrRecording, dir)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("%w: %s cannot be created: %w", ErrRecording, dir, err)
	}
	return nil
}

// RecordingFormat is the file format of a call recording.
type RecordingFormat int

const (
	// RecordingOggOpus is Ogg/Opus (RFC 7845) at 32 kbit/s: about 14 MB an
	// hour. The default.
	RecordingOggOpus RecordingFormat = iota
	// RecordingWAV is 48 kHz 16-bit PCM: about 330 MB an hour, readable by
	// anything.
	RecordingWAV
)

// String is the format's file extension.
func (f RecordingFormat) String() string {
	if f == RecordingWAV {
		return "wav"
	}
	return "ogg"
}

// ParseRecordingFormat reads "ogg" or "wav".
func ParseRecordingFormat(s string) (RecordingFormat, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "", "ogg", "opus":
		return RecordingOggOpus, nil
	case "wav":
		return RecordingWAV, nil
	}
	return 0, fmt.Errorf("%w: recording format %q (want ogg or wav)", ErrBadOption, s)
}

// RecordingOptions say where and how a call is recorded.
type RecordingOptions struct {
	// Dir is the folder of the recordings; it is created if missing.
	// Empty means Options.RecordingsDir.
	Dir    string
	Format RecordingFormat
}

// StartRecording records the call, both directions mixed into one mono
// file in o.Dir named after the time and the other party, and returns its
// path. Parlo plays no announcement and sends no tone: whether the other
// party must be told is the user's legal matter, and the UI shows the
// recording while it runs. In a conference the file holds every party.
func (p *Phone) StartRecording(id string, o RecordingOptions) (string, error) {
	c, err := p.call(id)
	if err != nil {
		return "", err
	}
	s := c.snapshot()
	if !s.IsEstablished() {
		return "", fmt.Errorf("%w: the call is not established", ErrRecording)
	}
	if o.Dir == "" {
		o.Dir = p.opts.RecordingsDir
	}
	if o.Dir == "" {
		return "", fmt.Errorf("%w: no folder for recordings", ErrRecording)
	}
	if err := os.MkdirAll(o.Dir, 0o700); err != nil {
		return "", fmt.Errorf("%w: %w", ErrRecording, err)
	}
	path := filepath.Join(o.Dir, recordingName(time.Now(), s.Number, o.Format))
	for n := 2; ; n++ { // never overwrite an earlier recording
		if _, err := os.Lstat(path); errors.Is(err, os.ErrNotExist) {
			break
		}
		base := strings.TrimSuffix(recordingName(time.Now(), s.Number, o.Format), "."+o.Format.String())
		path = filepath.Join(o.Dir, fmt.Sprintf("%s-%d.%s", base, n, o.Format))
	}
	var sink audio.Sink
	if o.Format == RecordingWAV {
		sink, err = audio.CreateWAVSink(path)
	} else {
		sink, err = audio.CreateOggOpusSink(path)
	}
	if err != nil {
		return "", fmt.Errorf("%w: %w", ErrRecording, err)
	}
	rec := audio.NewRecorder(sink)
	c.mu.Lock()
	if c.rec != nil || c.ended {
		c.mu.Unlock()
		_ = rec.Close()
		_ = os.Remove(path)
		return "", fmt.Errorf("%w: the call is already recorded or over", ErrRecording)
	}
	c.rec, c.recPath = rec, path
	c.mu.Unlock()
	c.tap.SetRecorder(rec)
	c.update(func(s *CallSession) { s.Recording = true; s.RecordingPaused = false },
		[]string{EventRecordingStarted}, RecordingPayload{Path: path})
	return path, nil
}

// PauseRecording leaves what follows out of the file until
// ResumeRecording.
func (p *Phone) PauseRecording(id string) error { return p.setRecordingPaused(id, true) }

// ResumeRecording continues a paused recording in the same file.
func (p *Phone) ResumeRecording(id string) error { return p.setRecordingPaused(id, false) }

func (p *Phone) setRecordingPaused(id string, paused bool) error {
	c, err := p.call(id)
	if err != nil {
		return err
	}
	c.mu.Lock()
	rec := c.rec
	c.mu.Unlock()
	if rec == nil {
		return fmt.Errorf("%w: the call is not being recorded", ErrRecording)
	}
	if rec.Paused() == paused {
		return nil
	}
	rec.SetPaused(paused)
	name := EventRecordingResumed
	if paused {
		name = EventRecordingPaused
	}
	c.update(func(s *CallSession) { s.RecordingPaused = paused }, []string{name}, nil)
	return nil
}

// StopRecording ends the call's recording and closes the file.
func (p *Phone) StopRecording(id string) error {
	c, err := p.call(id)
	if err != nil {
		return err
	}
	return c.stopRecording()
}

// stopRecording closes the recording, if any, and reports it.
func (c *call) stopRecording() error {
	c.mu.Lock()
	rec, path := c.rec, c.recPath
	c.rec, c.recPath = nil, ""
	c.mu.Unlock()
	if rec == nil {
		return fmt.Errorf("%w: the call is not being recorded", ErrRecording)
	}
	c.tap.SetRecorder(nil)
	err := rec.Close()
	payload := RecordingPayload{Path: path}
	if err != nil {
		c.log.Warn("recording closed with an error", "path", path, "error", err)
		payload.Error = err.Error()
	}
	c.update(func(s *CallSession) { s.Recording = false; s.RecordingPaused = false },
		[]string{EventRecordingStopped}, payload)
	return err
}

// recordingName is "parlo-20261204-153000-<party>.<ext>", with the party's
// number reduced to characters safe in a file name everywhere.
func recordingName(t time.Time, number string, f RecordingFormat) string {
	party := strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '+', r == '-', r == '.':
			return r
		}
		return '_'
	}, number)
	party = strings.Trim(party, "._")
	if len(party) > 40 {
		party = party[:40]
	}
	if party == "" {
		party = "call"
	}
	return fmt.Sprintf("parlo-%s-%s.%s", t.Format("20060102-150405"), party, f)
}
