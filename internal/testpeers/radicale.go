package testpeers

import (
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// Radicale is a running Radicale 3 CardDAV server (RFC 6352) on 127.0.0.1
// with one user, whose address book "contacts" holds DirectoryPeople.
type Radicale struct {
	port     int
	user     string
	password string
	proc     *process
}

// StartRadicale starts radicale with htpasswd authentication (user
// "parlo", a random password) and filesystem storage in a temporary
// directory, pre-filled with people vCards (written straight into the
// storage layout, which Radicale reads on each request). It is stopped by
// tb.Cleanup.
func StartRadicale(tb testing.TB, people []DirectoryPerson) *Radicale {
	tb.Helper()
	Require(tb, "radicale")
	dir := tb.TempDir()
	r := &Radicale{port: FreeTCPPort(tb), user: "parlo", password: "dav-" + strconv.FormatInt(time.Now().UnixNano()%1e9, 36)}
	book := filepath.Join(dir, "collections", "collection-root", r.user, "contacts")
	if err := os.MkdirAll(book, 0o700); err != nil {
		tb.Fatal(err)
	}
	write := func(path, data string) {
		if err := os.WriteFile(path, []byte(data), 0o600); err != nil {
			tb.Fatal(err)
		}
	}
	write(filepath.Join(book, ".Radicale.props"), `{"D:displayname": "Contacts", "tag": "VADDRESSBOOK"}`)
	for i, p := range people {
		uid := fmt.Sprintf("person-%04d", i)
		write(filepath.Join(book, uid+".vcf"), strings.ReplaceAll(fmt.Sprintf(`BEGIN:VCARD
VERSION:3.0
UID:%s
FN:%s
N:%s;%s;;;
ORG:%s
EMAIL;TYPE=WORK:%s
TEL;TYPE=WORK,VOICE:%s
TEL;TYPE=CELL:%s
END:VCARD
`, uid, p.Name(), p.Family, p.Given, p.Org, p.Mail, p.Work, p.Mobile), "\n", "\r\n"))
	}
	write(filepath.Join(dir, "users"), r.user+":"+r.password+"\n")
	conf := fmt.Sprintf(`[server]
hosts = 127.0.0.1:%d
[auth]
type = htpasswd
htpasswd_filename = %s
htpasswd_encryption = plain
[rights]
type = owner_only
[storage]
filesystem_folder = %s
[web]
type = none
[logging]
level = warning
`, r.port, filepath.Join(dir, "users"), filepath.Join(dir, "collections"))
	confPath := filepath.Join(dir, "radicale.conf")
	write(confPath, conf)
	proc, err := startProcess("radicale", []string{"--config", confPath}, dir, os.Environ())
	if err != nil {
		tb.Fatalf("testpeers: %v", err)
	}
	r.proc = proc
	tb.Cleanup(func() { proc.stop(3 * time.Second) })
	// Ready once the address book lists: the first listing parses every
	// card and writes Radicale's item cache, which takes seconds for a few
	// hundred cards on a loaded machine; tests measure the steady state.
	deadline := time.Now().Add(60 * time.Second)
	client := &http.Client{Timeout: 30 * time.Second}
	for {
		req, _ := http.NewRequest("PROPFIND", r.BookURL(), strings.NewReader(`<?xml version="1.0"?><propfind xmlns="DAV:"><prop><getetag/></prop></propfind>`))
		req.Header.Set("Depth", "1")
		req.Header.Set("Content-Type", "application/xml")
		req.SetBasicAuth(r.user, r.password)
		resp, err := client.Do(req)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusMultiStatus {
				return r
			}
			err = fmt.Errorf("PROPFIND: %s", resp.Status)
		}
		if proc.exited() || time.Now().After(deadline) {
			tb.Fatalf("testpeers: radicale did not start: %v\n%s", err, proc.log.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// Addr is "127.0.0.1:port".
func (r *Radicale) Addr() string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(r.port)) }

// URL is the server's root, where a client discovers the user's books.
func (r *Radicale) URL() string { return "http://" + r.Addr() + "/" }

// BookURL is the pre-filled address book's collection URL.
func (r *Radicale) BookURL() string { return r.URL() + r.user + "/contacts/" }

// User and Password are the credentials.
func (r *Radicale) User() string { return r.user }

// Password is the user's password.
func (r *Radicale) Password() string { return r.password }

// Log is Radicale's output, for failure messages.
func (r *Radicale) Log() string { return r.proc.log.String() }
