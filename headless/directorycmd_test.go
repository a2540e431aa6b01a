package headless

import (
	"errors"
	"strings"
	"testing"
)

func TestParseArgsDirectory(t *testing.T) {
	env := func(k string) string {
		switch k {
		case LDAPPasswordEnv:
			return "ldap-pw-secret"
		case CardDAVPasswordEnv:
			return "dav-pw-secret"
		}
		return ""
	}
	base := []string{"--listen", "udp:127.0.0.1:0"}
	tests := []struct {
		name    string
		args    []string
		wantErr string
	}{
		{"no directory", nil, ""},
		{"rules", []string{"--dial-rules", "+33=0,+=00,=9;min=7"}, ""},
		{"bad rule", []string{"--dial-rules", "+33"}, "--dial-rules"},
		{"carddav", []string{"--carddav-url", "https://dav.example.com/", "--carddav-user", "u"}, ""},
		{"carddav not http", []string{"--carddav-url", "ftp://x/"}, "--carddav-url"},
		{"carddav password in URL", []string{"--carddav-url", "https://u:pw@dav.example.com/"}, "own fields"},
		{"ldap", []string{"--ldap-url", "ldap://127.0.0.1:389", "--ldap-bind-dn", "cn=r,dc=x", "--ldap-base", "dc=x"}, ""},
		{"ldap no base", []string{"--ldap-url", "ldap://127.0.0.1:389"}, "search base"},
		{"ldap filter without query", []string{"--ldap-url", "ldap://h", "--ldap-base", "dc=x", "--ldap-filter", "(cn=*)"}, "{query}"},
		{"ldap filter broken", []string{"--ldap-url", "ldap://h", "--ldap-base", "dc=x", "--ldap-filter", "(cn={query}"}, "filter"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, err := ParseArgs(append(append([]string{}, base...), tt.args...), env)
			if tt.wantErr == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if !errors.Is(err, ErrUsage) || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("err = %v, want ErrUsage mentioning %q", err, tt.wantErr)
			}
			if strings.Contains(err.Error(), "secret") || strings.Contains(err.Error(), ":pw@") {
				t.Fatalf("password in error: %v", err)
			}
			_ = cfg
		})
	}
	cfg, err := ParseArgs(append(base, "--ldap-url", "ldap://h", "--ldap-base", "dc=x", "--ldap-bind-dn", "cn=r,dc=x"), env)
	if err != nil || cfg.Directory.LDAP.Password != "ldap-pw-secret" {
		t.Fatalf("LDAP password from the environment: %v", err)
	}
}
