package headless

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/parlo-voip/parlo/callengine"
	"github.com/parlo-voip/parlo/callengine/media"
	"github.com/parlo-voip/parlo/capture"
)

// phoneAPI is the part of *callengine.Phone the commands use; tests give a
// fake.
type phoneAPI interface {
	Call(ctx context.Context, target string, opts callengine.CallOptions) (*callengine.CallSession, error)
	Accept(ctx context.Context, id string) error
	Reject(ctx context.Context, id string, code int) error
	Hangup(ctx context.Context, id string) error
	Hold(ctx context.Context, id string) error
	Resume(ctx context.Context, id string) error
	Mute(id string) error
	Unmute(id string) error
	Calls() []*callengine.CallSession
	Stats(id string) (media.Stats, error)
	Register(ctx context.Context) error
	Unregister(ctx context.Context) error
	// SetAccount un-registers the account in force and registers a (nil:
	// direct mode), without a restart.
	SetAccount(ctx context.Context, a *callengine.Account) error
	Monitors() ([]capture.Monitor, error)
	StartScreenSharing(ctx context.Context, id string, monitor int) error
	StopScreenSharing(ctx context.Context, id string) error
	// SnapshotPNG writes the call's newest decoded remote video frame to
	// path and returns its size; an error when no frame was decoded yet.
	SnapshotPNG(id, path string) (width, height int, err error)

	// Call control: keypad tones, transfers, chat, network statistics.
	SendDTMF(ctx context.Context, id, tones string) error
	Transfer(ctx context.Context, id, target string) error
	StartAttendedTransfer(ctx context.Context, id, target string) (*callengine.CallSession, error)
	CompleteAttendedTransfer(ctx context.Context, id, consultID string) error
	CancelAttendedTransfer(ctx context.Context, id, consultID string) error
	AcceptTransfer(ctx context.Context, id string) error
	DeclineTransfer(ctx context.Context, id string) error
	SendMessage(ctx context.Context, id, target, contentType string, body []byte) error
	SendChat(ctx context.Context, id, text string) error
	SendSignal(ctx context.Context, id string, content any) error
	EarlyMedia(ctx context.Context, id string) error
	Ignore(id string) error
	StartNetworkMonitoring(id string, interval time.Duration) error
	StopNetworkMonitoring(id string) error

	// Local conference and recording.
	Merge(ctx context.Context, ids ...string) error
	Unmerge(ctx context.Context, id string, hold bool) error
	StartRecording(id string, o callengine.RecordingOptions) (string, error)
	PauseRecording(id string) error
	ResumeRecording(id string) error
	StopRecording(id string) error

	lampAPI
}

// commandTimeout bounds one network command: longer than an INVITE
// transaction (64*T1 = 32 s, RFC 3261 §17.1.1.2) plus a few 491 retries.
const commandTimeout = 45 * time.Second

// commandSpec is one row of the dispatch table.
type commandSpec struct {
	required []string
	optional []string
	// network commands wait on SIP transactions, so they run in their own
	// goroutine: a slow hold must not stop the next line from being read.
	network bool
	// account commands need --account.
	account bool
	// quit ends the session; the server replies once shut down.
	quit bool
	// setsAccount: on success the phone has an account exactly when the
	// command named one (the account commands follow).
	setsAccount bool
	run         func(ctx context.Context, p phoneAPI, c command) (any, error)
}

// commandTable is the dispatch table: command name → fields and handler.
func commandTable() map[string]commandSpec {
	onCall := func(f func(ctx context.Context, p phoneAPI, id string) error) func(context.Context, phoneAPI, command) (any, error) {
		return func(ctx context.Context, p phoneAPI, c command) (any, error) {
			if err := f(ctx, p, c.Call); err != nil {
				return nil, err
			}
			return sessionResult(p, c.Call), nil
		}
	}
	onCallCmd := func(f func(ctx context.Context, p phoneAPI, c command) error) func(context.Context, phoneAPI, command) (any, error) {
		return func(ctx context.Context, p phoneAPI, c command) (any, error) {
			if err := f(ctx, p, c); err != nil {
				return nil, err
			}
			return sessionResult(p, c.Call), nil
		}
	}
	return map[string]commandSpec{
		"call": {required: []string{fieldTo}, network: true, run: func(ctx context.Context, p phoneAPI, c command) (any, error) {
			s, err := p.Call(ctx, c.To, callengine.CallOptions{})
			if err != nil {
				return nil, err
			}
			return map[string]any{"session": s}, nil
		}},
		"accept": {required: []string{fieldCall}, network: true, run: onCall(func(ctx context.Context, p phoneAPI, id string) error {
			return p.Accept(ctx, id)
		})},
		"reject": {required: []string{fieldCall}, optional: []string{fieldCode}, network: true, run: func(ctx context.Context, p phoneAPI, c command) (any, error) {
			code := c.Code
			if code == 0 {
				code = 486 // Busy Here, the SDK's default
			}
			if err := p.Reject(ctx, c.Call, code); err != nil {
				return nil, err
			}
			return map[string]any{}, nil
		}},
		"hangup": {required: []string{fieldCall}, network: true, run: onCall(func(ctx context.Context, p phoneAPI, id string) error {
			return p.Hangup(ctx, id)
		})},
		"hold": {required: []string{fieldCall}, network: true, run: onCall(func(ctx context.Context, p phoneAPI, id string) error {
			return p.Hold(ctx, id)
		})},
		"resume": {required: []string{fieldCall}, network: true, run: onCall(func(ctx context.Context, p phoneAPI, id string) error {
			return p.Resume(ctx, id)
		})},
		"mute": {required: []string{fieldCall}, run: onCall(func(_ context.Context, p phoneAPI, id string) error {
			return p.Mute(id)
		})},
		"unmute": {required: []string{fieldCall}, run: onCall(func(_ context.Context, p phoneAPI, id string) error {
			return p.Unmute(id)
		})},
		"calls": {run: func(_ context.Context, p phoneAPI, _ command) (any, error) {
			calls := p.Calls()
			if calls == nil {
				calls = []*callengine.CallSession{}
			}
			return map[string]any{"calls": calls}, nil
		}},
		"stats": {required: []string{fieldCall}, run: func(_ context.Context, p phoneAPI, c command) (any, error) {
			st, err := p.Stats(c.Call)
			if err != nil {
				return nil, err
			}
			return st, nil
		}},
		// monitors opens one short X connection (a local socket), so it
		// answers in order like the other local commands.
		"monitors": {run: func(_ context.Context, p phoneAPI, _ command) (any, error) {
			mons, err := p.Monitors()
			if err != nil {
				return nil, err
			}
			list := make([]monitorInfo, 0, len(mons))
			for _, m := range mons {
				list = append(list, monitorInfo{Index: m.Index, Name: m.Name, X: m.X, Y: m.Y, Width: m.Width, Height: m.Height, Primary: m.Primary})
			}
			return map[string]any{"monitors": list}, nil
		}},
		// share may send a re-INVITE and waits for the first captured
		// frame, so it runs as a network command.
		"share": {required: []string{fieldCall, fieldMonitor}, network: true, run: func(ctx context.Context, p phoneAPI, c command) (any, error) {
			if err := p.StartScreenSharing(ctx, c.Call, c.Monitor); err != nil {
				return nil, err
			}
			return sessionResult(p, c.Call), nil
		}},
		"unshare": {required: []string{fieldCall}, network: true, run: onCall(func(ctx context.Context, p phoneAPI, id string) error {
			return p.StopScreenSharing(ctx, id)
		})},
		"snapshot": {required: []string{fieldCall, fieldPath}, run: func(_ context.Context, p phoneAPI, c command) (any, error) {
			w, h, err := p.SnapshotPNG(c.Call, c.Path)
			if err != nil {
				return nil, err
			}
			return map[string]any{"path": c.Path, "width": w, "height": h}, nil
		}},
		// dtmf waits for the tones to go out (120 ms each in RTP, or one
		// INFO transaction each).
		"dtmf": {required: []string{fieldCall, fieldTones}, network: true, run: onCallCmd(func(ctx context.Context, p phoneAPI, c command) error {
			return p.SendDTMF(ctx, c.Call, c.Tones)
		})},
		// transfer replies when the transferee's final NOTIFY arrived: the
		// call is then over (result {}) or, when the target failed,
		// resumed and the reply is an error.
		"transfer": {required: []string{fieldCall, fieldTo}, network: true, run: onCallCmd(func(ctx context.Context, p phoneAPI, c command) error {
			return p.Transfer(ctx, c.Call, c.To)
		})},
		"atxfer": {required: []string{fieldCall, fieldTo}, network: true, run: func(ctx context.Context, p phoneAPI, c command) (any, error) {
			s, err := p.StartAttendedTransfer(ctx, c.Call, c.To)
			if err != nil {
				return nil, err
			}
			return map[string]any{"session": s}, nil
		}},
		"atxfer-complete": {required: []string{fieldCall, fieldConsult}, network: true, run: onCallCmd(func(ctx context.Context, p phoneAPI, c command) error {
			return p.CompleteAttendedTransfer(ctx, c.Call, c.Consult)
		})},
		"atxfer-cancel": {required: []string{fieldCall, fieldConsult}, network: true, run: onCallCmd(func(ctx context.Context, p phoneAPI, c command) error {
			return p.CancelAttendedTransfer(ctx, c.Call, c.Consult)
		})},
		// transfer-accept / transfer-decline answer the far end's REFER
		// (onTransferRequested with pending true): 202 and the new call,
		// or 603. Unanswered, it is declined after 25 s.
		// merge joins call and consult into the local conference (resuming
		// a held one); unmerge takes call out and holds it.
		"merge": {required: []string{fieldCall, fieldConsult}, network: true, run: onCallCmd(func(ctx context.Context, p phoneAPI, c command) error {
			return p.Merge(ctx, c.Call, c.Consult)
		})},
		"unmerge": {required: []string{fieldCall}, network: true, run: onCall(func(ctx context.Context, p phoneAPI, id string) error {
			return p.Unmerge(ctx, id, true)
		})},
		// record writes the call, both directions mixed, into a new file in
		// the folder path (default --recordings); the reply names the file.
		"record": {required: []string{fieldCall}, optional: []string{fieldPath, fieldFormat}, run: func(_ context.Context, p phoneAPI, c command) (any, error) {
			var dir string
			if c.Path != "" {
				d, err := filepath.Abs(c.Path)
				if err != nil {
					return nil, fmt.Errorf("%w: %q: %w", ErrBadField, fieldPath, err)
				}
				dir = d
			}
			file, err := p.StartRecording(c.Call, callengine.RecordingOptions{Dir: dir, Format: c.Format})
			if err != nil {
				return nil, err
			}
			return map[string]any{"path": file, "session": sessionResult(p, c.Call)["session"]}, nil
		}},
		"record-pause": {required: []string{fieldCall}, run: onCall(func(_ context.Context, p phoneAPI, id string) error {
			return p.PauseRecording(id)
		})},
		"record-resume": {required: []string{fieldCall}, run: onCall(func(_ context.Context, p phoneAPI, id string) error {
			return p.ResumeRecording(id)
		})},
		"record-stop": {required: []string{fieldCall}, run: onCall(func(_ context.Context, p phoneAPI, id string) error {
			return p.StopRecording(id)
		})},
		"transfer-accept": {required: []string{fieldCall}, run: onCall(func(ctx context.Context, p phoneAPI, id string) error {
			return p.AcceptTransfer(ctx, id)
		})},
		"transfer-decline": {required: []string{fieldCall}, run: onCall(func(ctx context.Context, p phoneAPI, id string) error {
			return p.DeclineTransfer(ctx, id)
		})},
		// message goes in the call's dialog with "call", out of dialog to
		// "to" otherwise; exactly one of the two.
		"message": {required: []string{fieldBody}, optional: []string{fieldTo, fieldCall, fieldContentType}, network: true, run: func(ctx context.Context, p phoneAPI, c command) (any, error) {
			switch {
			case c.To == "" && c.Call == "":
				return nil, fmt.Errorf("%w \"to\" or \"call\" for message", ErrMissingField)
			case c.To != "" && c.Call != "":
				return nil, fmt.Errorf("%w: message takes \"to\" or \"call\", not both", ErrBadField)
			}
			ct := c.ContentType
			if ct == "" {
				ct = "text/plain"
			}
			return map[string]any{}, p.SendMessage(ctx, c.Call, c.To, ct, []byte(c.Body))
		}},
		"chat": {required: []string{fieldCall, fieldText}, network: true, run: func(ctx context.Context, p phoneAPI, c command) (any, error) {
			return map[string]any{}, p.SendChat(ctx, c.Call, c.Text)
		}},
		"signal": {required: []string{fieldCall, fieldContent}, network: true, run: func(ctx context.Context, p phoneAPI, c command) (any, error) {
			return map[string]any{}, p.SendSignal(ctx, c.Call, c.Content)
		}},
		// early answers a ringing call with 183 and media (RFC 3960 early
		// media, gateway model) and replies once the 183 went out.
		"early": {required: []string{fieldCall}, network: true, run: onCall(func(ctx context.Context, p phoneAPI, id string) error {
			return p.EarlyMedia(ctx, id)
		})},
		"ignore": {required: []string{fieldCall}, run: onCall(func(_ context.Context, p phoneAPI, id string) error {
			return p.Ignore(id)
		})},
		"monitor": {required: []string{fieldCall}, optional: []string{fieldIntervalMs}, run: func(_ context.Context, p phoneAPI, c command) (any, error) {
			if c.IntervalMs == 0 {
				if err := p.StopNetworkMonitoring(c.Call); err != nil {
					return nil, err
				}
				return map[string]any{"monitoring": false}, nil
			}
			if err := p.StartNetworkMonitoring(c.Call, time.Duration(c.IntervalMs)*time.Millisecond); err != nil {
				return nil, err
			}
			return map[string]any{"monitoring": true, "intervalMs": c.IntervalMs}, nil
		}},
		"register": {network: true, account: true, run: func(ctx context.Context, p phoneAPI, _ command) (any, error) {
			return map[string]any{}, p.Register(ctx)
		}},
		"unregister": {network: true, account: true, run: func(ctx context.Context, p phoneAPI, _ command) (any, error) {
			return map[string]any{}, p.Unregister(ctx)
		}},
		"account": {required: []string{fieldAccount}, optional: []string{fieldRegistrar, fieldUsername, fieldTransport, fieldCAFile, fieldPasswordFile},
			network: true, setsAccount: true, run: func(ctx context.Context, p phoneAPI, c command) (any, error) {
				a, err := c.Account.buildAccount(os.Getenv)
				if err != nil {
					return nil, err
				}
				if err := p.SetAccount(ctx, a); err != nil {
					return nil, err
				}
				return map[string]any{"account": c.Account.account}, nil
			}},
		"quit": {quit: true},
	}
}

// commandNames lists the table's commands, sorted, for error messages.
func commandNames(table map[string]commandSpec) []string {
	names := make([]string, 0, len(table))
	for n := range table {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

// sessionResult is the reply of a command on a call: the call's snapshot
// after the command, when the call still exists (it does not after hangup).
func sessionResult(p phoneAPI, id string) map[string]any {
	for _, s := range p.Calls() {
		if s.SipCallID == id {
			return map[string]any{"session": s}
		}
	}
	return map[string]any{}
}

// monitorInfo is one entry of the monitors reply.
type monitorInfo struct {
	Index   int    `json:"index"`
	Name    string `json:"name"`
	X       int    `json:"x"`
	Y       int    `json:"y"`
	Width   int    `json:"width"`
	Height  int    `json:"height"`
	Primary bool   `json:"primary"`
}

// dispatcher turns lines into phone calls and exactly one reply per line.
type dispatcher struct {
	phone      phoneAPI
	table      map[string]commandSpec
	hasAccount atomic.Bool
	out        *lineWriter

	// ctx is the parent of every network command; cancelled at the end of
	// shutdown so in-flight commands reply before the process exits.
	ctx context.Context
	wg  sync.WaitGroup // in-flight network commands
}

func newDispatcher(ctx context.Context, p phoneAPI, hasAccount bool, out *lineWriter) *dispatcher {
	d := &dispatcher{phone: p, table: withLampCommands(commandTable()), out: out, ctx: ctx}
	d.hasAccount.Store(hasAccount)
	return d
}

// handleLine handles one stdin line. Every line gets exactly one reply:
// written before handleLine returns, or, for a network command, by the
// goroutine it starts (wait for those with wait). The one exception is
// quit: handleLine returns it, and its reply is the caller's to write once
// the phone is shut down.
func (d *dispatcher) handleLine(line []byte) (quit *command) {
	c, spec, err := parseCommand(line, d.table)
	if err != nil {
		d.out.reply(c.ID, nil, err)
		return nil
	}
	switch {
	case spec.quit:
		return &c
	case spec.account && !d.hasAccount.Load():
		d.out.reply(c.ID, nil, ErrNoAccount)
	case spec.network:
		d.wg.Add(1)
		go func() {
			defer d.wg.Done()
			ctx, cancel := context.WithTimeout(d.ctx, commandTimeout)
			defer cancel()
			res, err := spec.run(ctx, d.phone, c)
			// A registration that failed still leaves the new account in
			// force (register retries it).
			if spec.setsAccount && (err == nil || errors.Is(err, callengine.ErrRegistration)) {
				d.hasAccount.Store(c.Account.account != "")
			}
			d.out.reply(c.ID, res, err)
		}()
	default:
		res, err := spec.run(d.ctx, d.phone, c)
		d.out.reply(c.ID, res, err)
	}
	return nil
}

// replyQuit answers quit, once the caller has shut the phone down.
func (d *dispatcher) replyQuit(q *command) { d.out.reply(q.ID, map[string]any{}, nil) }

// wait returns when every network command started so far has replied.
func (d *dispatcher) wait() { d.wg.Wait() }
