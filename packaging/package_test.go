// Package packaging checks Parlo's Linux installer: package.sh (the recipe
// behind `make package`) run with the pinned fyne tool on a freshly built
// binary, then the archive's layout, its .desktop entry (validated by
// desktop-file-validate), its icon, and its own user-install/-uninstall.
package packaging

import (
	"bytes"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func require(t *testing.T, bins ...string) {
	t.Helper()
	for _, b := range bins {
		if _, err := exec.LookPath(b); err != nil {
			t.Fatalf("%s not found: install it (scripts/deps.sh test)", b)
		}
	}
}

func run(t *testing.T, dir string, env []string, name string, args ...string) string {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
	return string(out)
}

func TestLinuxPackage(t *testing.T) {
	require(t, "go", "tar", "xz", "make", "desktop-file-validate")
	root, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	tmp := t.TempDir()
	start := time.Now()
	bin := filepath.Join(tmp, "parlo")
	// A plain build reuses the test build's compiled packages: seconds, not
	// the minutes of a first -trimpath release build.
	run(t, root, nil, "go", "build", "-ldflags=-s -w", "-o", bin, ".")
	built := time.Since(start)
	out := filepath.Join(tmp, "dist")
	run(t, root, nil, filepath.Join(root, "packaging", "package.sh"), out, bin)
	t.Logf("build %v, package %v", built.Round(time.Millisecond), (time.Since(start) - built).Round(time.Millisecond))

	archive := filepath.Join(out, "Parlo.tar.xz")
	list := run(t, tmp, nil, "tar", "-tJf", archive)
	for _, want := range []string{
		"parlo/Makefile",
		"parlo/usr/local/bin/parlo",
		"parlo/usr/local/share/applications/io.parlo.Parlo.desktop",
		"parlo/usr/local/share/pixmaps/io.parlo.Parlo.png",
	} {
		if !strings.Contains(list, want+"\n") {
			t.Errorf("archive lacks %s; it holds:\n%s", want, list)
		}
	}
	x := filepath.Join(tmp, "x")
	os.Mkdir(x, 0o755)
	run(t, x, nil, "tar", "-xJf", archive)
	pkg := filepath.Join(x, "parlo")

	desktop := filepath.Join(pkg, "usr/local/share/applications/io.parlo.Parlo.desktop")
	if msg := run(t, tmp, nil, "desktop-file-validate", desktop); strings.TrimSpace(msg) != "" {
		t.Errorf("desktop-file-validate warns:\n%s", msg)
	}
	entry, _ := os.ReadFile(desktop)
	for _, line := range []string{"Type=Application", "Name=Parlo", "Exec=parlo %u", "Icon=io.parlo.Parlo",
		"MimeType=x-scheme-handler/sip;x-scheme-handler/sips;x-scheme-handler/tel;x-scheme-handler/callto;",
		"Categories=Network;Telephony;", "GenericName=SIP Softphone"} {
		if !strings.Contains(string(entry), line+"\n") {
			t.Errorf(".desktop lacks %q:\n%s", line, entry)
		}
	}

	iconBytes, _ := os.ReadFile(filepath.Join(pkg, "usr/local/share/pixmaps/io.parlo.Parlo.png"))
	want, _ := os.ReadFile(filepath.Join(root, "assets", "Icon.png"))
	if !bytes.Equal(iconBytes, want) {
		t.Error("packaged icon differs from assets/Icon.png")
	}
	if img, err := png.Decode(bytes.NewReader(iconBytes)); err != nil || img.Bounds().Dx() < 256 {
		t.Errorf("icon: %v, %v", err, img)
	}

	exe := filepath.Join(pkg, "usr/local/bin/parlo")
	if st, err := os.Stat(exe); err != nil || st.Mode()&0o111 == 0 {
		t.Fatalf("packaged binary not executable: %v", err)
	}
	if got := run(t, tmp, nil, exe, "help"); !strings.Contains(got, "parlo headless") {
		t.Errorf("packaged binary's help:\n%s", got)
	}

	// The archive's own Makefile installs for the user (make install) and
	// removes it again (make uninstall).
	home := filepath.Join(tmp, "home")
	os.Mkdir(home, 0o755)
	env := []string{"HOME=" + home}
	run(t, pkg, env, "make", "user-install")
	installed := []string{".local/bin/parlo", ".local/share/applications/io.parlo.Parlo.desktop", ".local/share/icons/io.parlo.Parlo.png"}
	for _, f := range installed {
		if _, err := os.Stat(filepath.Join(home, f)); err != nil {
			t.Errorf("user-install: %v", err)
		}
	}
	inst, _ := os.ReadFile(filepath.Join(home, ".local/share/applications/io.parlo.Parlo.desktop"))
	if !strings.Contains(string(inst), "Exec="+filepath.Join(home, ".local/bin/parlo")) {
		t.Errorf("installed .desktop does not run the installed binary:\n%s", inst)
	}
	run(t, tmp, nil, "desktop-file-validate", filepath.Join(home, ".local/share/applications/io.parlo.Parlo.desktop"))
	run(t, pkg, env, "make", "user-uninstall")
	for _, f := range installed {
		if _, err := os.Stat(filepath.Join(home, f)); !os.IsNotExist(err) {
			t.Errorf("user-uninstall left %s", f)
		}
	}
}
