package instance

import (
	"context"
	"errors"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestSecondLaunchHandsItsLinkToTheFirst(t *testing.T) {
	path := filepath.Join(t.TempDir(), "run", "instance.sock")
	first, err := Listen(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer first.Close()
	if st, err := os.Stat(filepath.Dir(path)); err != nil || st.Mode().Perm() != 0o700 {
		t.Fatalf("socket directory must be private: %v %v", st.Mode(), err)
	}
	if _, err := Listen(path, nil); !errors.Is(err, ErrRunning) {
		t.Fatalf("second Listen: %v, want ErrRunning", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	for _, want := range []Request{{Link: "sip:bob@example.com"}, {}} {
		if err := Send(ctx, path, want); err != nil {
			t.Fatal(err)
		}
		select {
		case got := <-first.Requests():
			if got != want {
				t.Fatalf("got %+v, want %+v", got, want)
			}
		case <-ctx.Done():
			t.Fatal("request never arrived")
		}
	}
	first.Close()
	first.Close() // idempotent
	if _, ok := <-first.Requests(); ok {
		t.Fatal("Requests still open after Close")
	}
	if err := Send(ctx, path, Request{}); !errors.Is(err, ErrNotRunning) {
		t.Fatalf("Send after Close: %v, want ErrNotRunning", err)
	}
}

func TestStaleSocketIsReplaced(t *testing.T) {
	path := filepath.Join(t.TempDir(), "instance.sock")
	// A socket file nobody listens on, as a crashed instance leaves it.
	ln, err := net.Listen("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	ln.(*net.UnixListener).SetUnlinkOnClose(false)
	ln.Close()
	if _, err := os.Stat(path); err != nil {
		t.Fatalf("stale socket not left behind: %v", err)
	}
	s, err := Listen(path, nil)
	if err != nil {
		t.Fatalf("Listen over a stale socket: %v", err)
	}
	s.Close()
}

func TestGarbageOnTheSocketIsIgnored(t *testing.T) {
	path := filepath.Join(t.TempDir(), "instance.sock")
	s, err := Listen(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for _, junk := range []string{"not json\n", strings.Repeat("x", 10000), "{\"link\":1}\n", ""} {
		c, err := net.Dial("unix", path)
		if err != nil {
			t.Fatal(err)
		}
		c.Write([]byte(junk))
		c.Close()
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := Send(ctx, path, Request{Link: "tel:1"}); err != nil {
		t.Fatalf("instance stopped answering after garbage: %v", err)
	}
	if got := <-s.Requests(); got.Link != "tel:1" {
		t.Fatalf("got %+v: garbage reached Requests", got)
	}
}
