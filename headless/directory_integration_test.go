package headless_test

import (
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/parlo-voip/parlo/internal/testpeers"
)

// TestDirectoryCommandsIntegration drives contacts, search, lookup and
// call's dialling rules through the JSON-lines protocol, against Radicale
// and slapd, with an unreachable LDAP server configured as well.
func TestDirectoryCommandsIntegration(t *testing.T) {
	bin := buildParlo(t)
	people := testpeers.DirectoryPeople(300)
	rad := testpeers.StartRadicale(t, people)
	sl := testpeers.StartSlapd(t, people)
	tr := &transcript{start: time.Now()}
	defer writeTranscriptIfAsked(t, tr)
	contacts := filepath.Join(t.TempDir(), "contacts.json")
	a := startDriverEnv(t, bin, "A", tr, []string{"PARLO_CARDDAV_PASSWORD=" + rad.Password(), "PARLO_LDAP_PASSWORD=" + sl.Password()},
		"--listen", "udp:127.0.0.1:0", "--contacts", contacts,
		"--carddav-url", rad.URL(), "--carddav-user", rad.User(),
		"--ldap-url", sl.URL(), "--ldap-bind-dn", sl.BindDN(), "--ldap-base", sl.BaseDN())
	a.waitEvent("ready", "", 20*time.Second)

	added := a.do(map[string]any{"cmd": "contacts-add", "name": "Front Desk", "number": "200"})
	id, _ := dig(added, "contact.id").(string)
	if id == "" {
		t.Fatalf("contacts-add: %v", added)
	}
	list := a.do(map[string]any{"cmd": "contacts"})
	if cs, _ := list["contacts"].([]any); len(cs) != 1 {
		t.Fatalf("contacts: %v", list)
	}

	res := a.do(map[string]any{"cmd": "search", "query": "alice mar"})
	cs, _ := res["contacts"].([]any)
	if len(cs) != 1 || dig(cs[0].(map[string]any), "name") != "Alice Martin" || dig(cs[0].(map[string]any), "source") != "CardDAV, LDAP" {
		t.Fatalf("search: %v", res)
	}
	t.Logf("headless search: %v ms", res["elapsedMs"])

	res = a.do(map[string]any{"cmd": "lookup", "number": "+33 6 10 00 01 50"})
	if res["found"] != true || dig(res, "contact.name") != people[150].Name() {
		t.Fatalf("lookup: %v", res)
	}

	if r := a.do(map[string]any{"cmd": "contacts-delete", "contactId": id}); r == nil {
		t.Fatal("contacts-delete")
	}
	if list := a.do(map[string]any{"cmd": "contacts"}); len(list["contacts"].([]any)) != 0 {
		t.Fatalf("contact not deleted: %v", list)
	}
	if strings.Contains(a.stderrText(), rad.Password()) || strings.Contains(a.stderrText(), sl.Password()) {
		t.Fatal("a directory password is in the log")
	}
}

// TestDirectoryUnreachableIntegration: a directory server that does not
// answer is named in the search reply, within the deadline, and the
// other sources' results still come back.
func TestDirectoryUnreachableIntegration(t *testing.T) {
	bin := buildParlo(t)
	people := testpeers.DirectoryPeople(300)
	sl := testpeers.StartSlapd(t, people)
	tr := &transcript{start: time.Now()}
	defer writeTranscriptIfAsked(t, tr)
	a := startDriverEnv(t, bin, "A", tr, []string{"PARLO_LDAP_PASSWORD=" + sl.Password()},
		"--listen", "udp:127.0.0.1:0", "--contacts", filepath.Join(t.TempDir(), "contacts.json"),
		// 192.0.2.0/24 is TEST-NET-1 (RFC 5737): never routed, so the
		// connection hangs like a server behind a dropping firewall.
		"--carddav-url", "http://192.0.2.1:8443/dav/",
		"--ldap-url", sl.URL(), "--ldap-bind-dn", sl.BindDN(), "--ldap-base", sl.BaseDN())
	a.waitEvent("ready", "", 20*time.Second)
	start := time.Now()
	res := a.do(map[string]any{"cmd": "search", "query": "léa"})
	elapsed := time.Since(start)
	cs, _ := res["contacts"].([]any)
	errs, _ := res["errors"].([]any)
	if len(cs) != 15 || len(errs) != 1 || elapsed > 5*time.Second {
		t.Fatalf("after %v: %d contacts, errors %v", elapsed, len(cs), errs)
	}
	msg, _ := dig(errs[0].(map[string]any), "message").(string)
	if !strings.Contains(msg, "CardDAV") || !strings.Contains(msg, "192.0.2.1:8443") {
		t.Fatalf("unclear message: %q", msg)
	}
	t.Logf("search with CardDAV unreachable: %v, %q", elapsed, msg)
}
