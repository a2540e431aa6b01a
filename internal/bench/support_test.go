package bench

import (
	"bytes"
	"encoding/binary"
	"errors"
	"math"
	"os"
	"syscall"
	"testing"
	"time"
)

func TestPercentile(t *testing.T) {
	tests := []struct {
		xs   []float64
		p    float64
		want float64
	}{
		{[]float64{3, 1, 2}, 50, 2},
		{[]float64{1, 2, 3, 4}, 50, 2.5},
		{[]float64{10, 20, 30, 40, 50}, 95, 48},
		{[]float64{7}, 95, 7},
		{[]float64{1, 2, 3}, 100, 3},
	}
	for _, tc := range tests {
		if got := Percentile(tc.xs, tc.p); math.Abs(got-tc.want) > 1e-9 {
			t.Errorf("Percentile(%v, %v) = %v, want %v", tc.xs, tc.p, got, tc.want)
		}
	}
	if !math.IsNaN(Percentile(nil, 50)) {
		t.Error("Percentile of nothing is not NaN")
	}
	if got := Millis([]time.Duration{1500 * time.Microsecond}); got[0] != 1.5 {
		t.Errorf("Millis = %v", got)
	}
}

func ivfStream(sizes ...int) []byte {
	var b bytes.Buffer
	hdr := make([]byte, 32)
	copy(hdr, "DKIF")
	b.Write(hdr)
	for i, n := range sizes {
		var fh [12]byte
		binary.LittleEndian.PutUint32(fh[:4], uint32(n))
		binary.LittleEndian.PutUint64(fh[4:], uint64(i))
		b.Write(fh[:])
		b.Write(make([]byte, n))
	}
	return b.Bytes()
}

func TestIVFCounter(t *testing.T) {
	var c IVFCounter
	if err := c.Consume(bytes.NewReader(ivfStream(100, 0, 2500))); err != nil {
		t.Fatal(err)
	}
	if c.Frames() != 3 || c.Bytes() != 2600 {
		t.Fatalf("frames %d bytes %d, want 3 and 2600", c.Frames(), c.Bytes())
	}
	var bad IVFCounter
	if err := bad.Consume(bytes.NewReader(make([]byte, 40))); !errors.Is(err, ErrNotIVF) {
		t.Fatalf("non-IVF input: %v", err)
	}
	s := ivfStream(100)
	var trunc IVFCounter
	if err := trunc.Consume(bytes.NewReader(s[:len(s)-10])); err == nil {
		t.Fatal("a truncated frame was not reported")
	}
}

func TestProcAccountingOfThisProcess(t *testing.T) {
	before, err := ProcCPU(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	// Burn 200 ms of CPU as getrusage counts it (not 200 ms of wall time:
	// on a busy machine the loop may get a fraction of a core); /proc counts
	// in 10-ms ticks, so it must show at least 150 ms more.
	self := func() float64 {
		var ru syscall.Rusage
		if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
			t.Fatal(err)
		}
		return float64(ru.Utime.Nano()+ru.Stime.Nano()) / 1e9
	}
	x, start := 0, self()
	for deadline := time.Now().Add(20 * time.Second); self()-start < 0.2; x++ {
		if time.Now().After(deadline) {
			t.Fatal("200 ms of CPU not granted in 20 s")
		}
	}
	after, err := ProcCPU(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	if after-before < 0.15 {
		t.Fatalf("CPU went from %.2f to %.2f s over 200 ms of busy loop (%d turns)", before, after, x)
	}
	m, err := ProcMem(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	if m.RSS <= 0 || m.Peak < m.RSS {
		t.Fatalf("memory %+v", m)
	}
	if _, err := ProcCPU(1 << 30); !errors.Is(err, ErrNoProcess) {
		t.Fatalf("missing process: %v", err)
	}
}

func TestDesktopIsDeterministic(t *testing.T) {
	a, b := Desktop(640, 360, 4), Desktop(640, 360, 4)
	if !bytes.Equal(a.Pix, b.Pix) {
		t.Fatal("same seed, different pictures")
	}
	if c := Desktop(640, 360, 5); bytes.Equal(a.Pix, c.Pix) {
		t.Fatal("different seeds, same picture")
	}
}

func TestReportVerdicts(t *testing.T) {
	r := NewReport(Machine{CPU: "x", Cores: 2}, time.Now())
	r.Add(Row{Section: "1", Measure: "m", Parlo: "1", Reference: "r", Ratio: Ratio(1, 4), Target: "≤ 0.5×", Verdict: AtMost(0.25, 0.5)})
	md := r.Markdown()
	for _, want := range []string{"| 1 | m | 1 | r | 0.25× | ≤ 0.5× | met |", "x, 2 cores"} {
		if !bytes.Contains([]byte(md), []byte(want)) {
			t.Errorf("report lacks %q:\n%s", want, md)
		}
	}
	if AtMost(math.NaN(), 1) != Missed || AtLeast(29, 30) != Missed || Ratio(1, 0) != "—" {
		t.Error("verdict helpers")
	}
}

func TestWriteFileReplacesTheWholeFile(t *testing.T) {
	path := t.TempDir() + "/benchmarks.md"
	if err := os.WriteFile(path, []byte("# old table\n\nstale hand-written prose\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	r := NewReport(Machine{CPU: "new cpu"}, time.Now())
	r.Revision, r.LoadStart, r.LoadEnd = "abc123", "1.00 / 2.00 / 3.00", "4.00 / 5.00 / 6.00"
	r.AddTable(Table{Title: "pairs", Header: []string{"a", "b"}, Rows: [][]string{{"1", "2"}}})
	if err := r.WriteFile(path); err != nil {
		t.Fatal(err)
	}
	got, _ := os.ReadFile(path)
	for _, want := range []string{"new cpu", "abc123", "1.00 / 2.00 / 3.00 at the start", "### pairs", "| 1 | 2 |"} {
		if !bytes.Contains(got, []byte(want)) {
			t.Errorf("report lacks %q", want)
		}
	}
	if bytes.Contains(got, []byte("stale")) || bytes.Contains(got, []byte("# old table")) {
		t.Fatalf("old content kept:\n%s", got)
	}
}
