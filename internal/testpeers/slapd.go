package testpeers

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// Slapd is a running OpenLDAP slapd 2.5 on 127.0.0.1 with an mdb database
// under SlapdBaseDN holding DirectoryPeople as inetOrgPerson entries.
type Slapd struct {
	port     int
	password string
	proc     *process
}

// SlapdBaseDN is the test directory's suffix; people are under ou=people.
const SlapdBaseDN = "dc=parlo,dc=test"

// StartSlapd starts slapd as an ordinary child process (no system service,
// no /etc/ldap): an old-style slapd.conf in a temporary directory loading
// the core, cosine and inetorgperson schemas, the database loaded offline
// with slapadd, then slapd in the foreground (-d 0) on
// ldap://127.0.0.1:port. Anonymous reads are allowed; BindDN/Password is
// the rootdn. It is stopped by tb.Cleanup.
func StartSlapd(tb testing.TB, people []DirectoryPerson) *Slapd {
	tb.Helper()
	Require(tb, "slapd", "slapadd")
	dir := tb.TempDir()
	s := &Slapd{port: FreeTCPPort(tb), password: "ldap-" + strconv.FormatInt(time.Now().UnixNano()%1e9, 36)}
	db := filepath.Join(dir, "db")
	if err := os.MkdirAll(db, 0o700); err != nil {
		tb.Fatal(err)
	}
	conf := fmt.Sprintf(`include /etc/ldap/schema/core.schema
include /etc/ldap/schema/cosine.schema
include /etc/ldap/schema/inetorgperson.schema
modulepath /usr/lib/ldap
moduleload back_mdb
pidfile %s
argsfile %s
database mdb
maxsize 67108864
suffix "%s"
rootdn "%s"
rootpw %s
directory %s
index objectClass eq
index cn,displayName,mail sub,eq
index telephoneNumber,mobile sub,eq
access to attrs=userPassword by anonymous auth by * none
access to * by * read
`, filepath.Join(dir, "slapd.pid"), filepath.Join(dir, "slapd.args"), SlapdBaseDN, s.BindDN(), s.password, db)
	confPath := filepath.Join(dir, "slapd.conf")
	if err := os.WriteFile(confPath, []byte(conf), 0o600); err != nil {
		tb.Fatal(err)
	}
	var ldif strings.Builder
	fmt.Fprintf(&ldif, "dn: %s\nobjectClass: dcObject\nobjectClass: organization\ndc: parlo\no: Parlo Test\n\n", SlapdBaseDN)
	fmt.Fprintf(&ldif, "dn: ou=people,%s\nobjectClass: organizationalUnit\nou: people\n\n", SlapdBaseDN)
	for i, p := range people {
		fmt.Fprintf(&ldif, "dn: uid=p%04d,ou=people,%s\nobjectClass: inetOrgPerson\nuid: p%04d\ncn: %s\nsn: %s\ngivenName: %s\ndisplayName: %s\nmail: %s\no: %s\ntelephoneNumber: %s\nmobile: %s\n\n",
			i, SlapdBaseDN, i, p.Name(), p.Family, p.Given, p.Name(), p.Mail, p.Org, p.Work, p.Mobile)
	}
	ldifPath := filepath.Join(dir, "people.ldif")
	if err := os.WriteFile(ldifPath, []byte(ldif.String()), 0o600); err != nil {
		tb.Fatal(err)
	}
	add, err := startProcess("slapadd", []string{"-f", confPath, "-l", ldifPath, "-q"}, dir, os.Environ())
	if err != nil {
		tb.Fatalf("testpeers: %v", err)
	}
	select {
	case <-add.done:
	case <-time.After(30 * time.Second):
		add.stop(time.Second)
		tb.Fatalf("testpeers: slapadd did not finish\n%s", add.log.String())
	}
	if add.err != nil {
		tb.Fatalf("testpeers: slapadd: %v\n%s", add.err, add.log.String())
	}
	proc, err := startProcess("slapd", []string{"-f", confPath, "-h", s.URL(), "-d", "0"}, dir, os.Environ())
	if err != nil {
		tb.Fatalf("testpeers: %v", err)
	}
	s.proc = proc
	tb.Cleanup(func() { proc.stop(3 * time.Second) })
	deadline := time.Now().Add(15 * time.Second)
	for {
		conn, err := net.DialTimeout("tcp", s.Addr(), 200*time.Millisecond)
		if err == nil {
			conn.Close()
			return s
		}
		if proc.exited() || time.Now().After(deadline) {
			tb.Fatalf("testpeers: slapd did not start: %v\n%s", err, proc.log.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// Addr is "127.0.0.1:port".
func (s *Slapd) Addr() string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(s.port)) }

// URL is "ldap://127.0.0.1:port".
func (s *Slapd) URL() string { return "ldap://" + s.Addr() }

// BaseDN is where the people are.
func (s *Slapd) BaseDN() string { return "ou=people," + SlapdBaseDN }

// BindDN and Password are the rootdn's credentials.
func (s *Slapd) BindDN() string { return "cn=admin," + SlapdBaseDN }

// Password is the user's password.
func (s *Slapd) Password() string { return s.password }

// Log is slapd's output, for failure messages.
func (s *Slapd) Log() string { return s.proc.log.String() }
