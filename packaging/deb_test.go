package packaging

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestDebianPackage builds the .deb with deb.sh, checks it with lintian
// (no errors), installs it with apt on this machine as a user would
// (`apt install ./parlo_*.deb`), checks that the binary runs, that the
// desktop entry and icon are in place and that Parlo is the handler of
// sip:, sips:, tel: and callto: links, then purges it and checks that
// nothing is left. Installing needs root; CI runs as root.
func TestDebianPackage(t *testing.T) {
	require(t, "go", "dpkg-deb", "dpkg-shlibdeps", "lintian", "apt-get", "xdg-mime")
	if os.Getuid() != 0 {
		t.Fatal("installing a .deb needs root (CI runs as root)")
	}
	if _, err := os.Stat("/usr/bin/parlo"); err == nil {
		if out, err := exec.Command("dpkg", "-S", "/usr/bin/parlo").CombinedOutput(); err != nil || !strings.HasPrefix(string(out), "parlo:") {
			t.Fatalf("/usr/bin/parlo exists and is not from the parlo package (%s): refusing to touch it", out)
		}
	}
	root, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	tmp := t.TempDir()
	bin := filepath.Join(tmp, "parlo")
	run(t, root, nil, "go", "build", "-ldflags=-s -w", "-o", bin, ".")
	out := filepath.Join(tmp, "dist")
	run(t, root, nil, filepath.Join(root, "packaging", "deb.sh"), out, bin)
	debs, _ := filepath.Glob(filepath.Join(out, "parlo_*.deb"))
	if len(debs) != 1 {
		t.Fatalf("deb.sh wrote %v", debs)
	}
	deb := debs[0]

	info := run(t, tmp, nil, "dpkg-deb", "-f", deb, "Depends")
	for _, lib := range []string{"libvpx", "libopus0", "libyuv0", "libx264", "libavcodec"} {
		if !strings.Contains(info, lib) {
			t.Errorf("Depends lacks %s: %s", lib, info)
		}
	}
	lint, _ := exec.Command("lintian", "--tag-display-limit", "0", deb).CombinedOutput()
	for _, l := range strings.Split(string(lint), "\n") {
		if strings.HasPrefix(l, "E: ") {
			t.Errorf("lintian: %s", l)
		}
	}
	t.Logf("lintian:\n%s", lint)

	purge := func() { _, _ = exec.Command("apt-get", "purge", "-y", "-qq", "parlo").CombinedOutput() }
	purge()
	t.Cleanup(purge)
	run(t, tmp, []string{"DEBIAN_FRONTEND=noninteractive"}, "apt-get", "install", "-y", "-qq", "--no-install-recommends", deb)
	files := []string{
		"/usr/bin/parlo",
		"/usr/share/applications/io.parlo.Parlo.desktop",
		"/usr/share/icons/hicolor/512x512/apps/io.parlo.Parlo.png",
		"/usr/share/icons/hicolor/scalable/apps/io.parlo.Parlo.svg",
		"/usr/share/man/man1/parlo.1.gz",
		"/usr/share/doc/parlo/copyright",
	}
	for _, f := range files {
		if _, err := os.Stat(f); err != nil {
			t.Errorf("installed package lacks %s", f)
		}
	}
	if got := run(t, tmp, nil, "/usr/bin/parlo", "help"); !strings.Contains(got, "parlo headless") {
		t.Errorf("installed parlo's help:\n%s", got)
	}
	home := filepath.Join(tmp, "home") // no per-user choice: the system default answers
	for _, scheme := range []string{"sip", "sips", "tel", "callto"} {
		got := strings.TrimSpace(run(t, tmp, []string{"HOME=" + home, "XDG_CONFIG_HOME=" + home, "XDG_DATA_HOME=" + home},
			"xdg-mime", "query", "default", "x-scheme-handler/"+scheme))
		if got != "io.parlo.Parlo.desktop" {
			t.Errorf("handler of %s: links is %q", scheme, got)
		}
	}

	run(t, tmp, []string{"DEBIAN_FRONTEND=noninteractive"}, "apt-get", "purge", "-y", "-qq", "parlo")
	for _, f := range files {
		if _, err := os.Stat(f); !os.IsNotExist(err) {
			t.Errorf("purge left %s", f)
		}
	}
	if cache, err := os.ReadFile("/usr/share/applications/mimeinfo.cache"); err == nil && strings.Contains(string(cache), "io.parlo.Parlo") {
		t.Error("purge left Parlo in the MIME cache")
	}
}
