//go:build linux || darwin || freebsd || netbsd || openbsd || dragonfly

package journal_test

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/marquee-signage/marquee/player/journal"
)

const helperEnv = "MARQUEE_JOURNAL_HELPER_DIR"

// TestHelperProcess is not a test: TestSIGKILL runs the test binary again
// with only this test selected and helperEnv set. It appends plays in a loop
// and prints each seq once Append has returned.
func TestHelperProcess(t *testing.T) {
	dir := os.Getenv(helperEnv)
	if dir == "" {
		t.Skip("helper process for TestSIGKILL")
	}
	j, err := journal.Open(dir, journal.Options{SegmentBytes: 16 << 10, MaxBytes: 1 << 30})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	start := j.LastSeq()
	for i := 0; i < 1_000_000; i++ { // bounded, in case the parent never kills
		seq, err := j.Append(testPlay(int(start) + i))
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(2)
		}
		fmt.Printf("%d\n", seq) // one write(2) per line: unbuffered
	}
	os.Exit(0)
}

// runAndKill starts a helper appending to dir, SIGKILLs it once it has
// reported n appends, and returns every seq it reported in full.
func runAndKill(t *testing.T, dir string, n int) []uint64 {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestHelperProcess$", "-test.count=1")
	cmd.Env = append(os.Environ(), helperEnv+"="+dir)
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	killed := false
	defer func() {
		if !killed {
			cmd.Process.Kill()
			cmd.Wait()
		}
	}()
	r := bufio.NewReader(out)
	var got []uint64
	for {
		line, err := r.ReadString('\n')
		if err == io.EOF {
			break // a last line without newline was cut by the kill: not reported
		} else if err != nil {
			t.Fatal(err)
		}
		seq, err := strconv.ParseUint(strings.TrimSpace(line), 10, 64)
		if err != nil {
			t.Fatalf("helper printed %q", line)
		}
		got = append(got, seq)
		if len(got) == n && !killed {
			// Kill mid-stream: the helper is appending as fast as it can.
			if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
				t.Fatal(err)
			}
			killed = true
		}
	}
	err = cmd.Wait()
	if !killed {
		t.Fatalf("helper exited before it was killed: %v", err)
	}
	if ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); !ok || ws.Signal() != syscall.SIGKILL {
		t.Fatalf("helper ended with %v, want SIGKILL", cmd.ProcessState)
	}
	return got
}

// TestSIGKILL kills a process that is appending as fast as it can, twice,
// and checks that every seq Append returned survives, exactly once.
func TestSIGKILL(t *testing.T) {
	if testing.Short() {
		t.Skip("spawns processes")
	}
	dir := t.TempDir()
	var reported []uint64
	for round := range 3 {
		got := runAndKill(t, dir, 2000+round*500)
		if len(got) == 0 {
			t.Fatal("helper reported nothing")
		}
		if n := len(reported); n > 0 && got[0] <= reported[n-1] {
			t.Fatalf("round %d: first seq %d repeats an earlier one (%d)", round, got[0], reported[n-1])
		}
		reported = append(reported, got...)
	}

	start := time.Now()
	j := mustOpen(t, dir, journal.Options{SegmentBytes: 16 << 10, MaxBytes: 1 << 30})
	t.Logf("%d appends reported over 3 kills; reopened in %v; torn=%d", len(reported), time.Since(start), j.Stats().Torn)
	all := mustPending(t, j, 0, 1<<30)
	seen := map[uint64]bool{}
	ids := map[string]bool{}
	for i, p := range all {
		if i > 0 && p.Seq <= all[i-1].Seq {
			t.Fatalf("journal seq %d follows %d: not ascending", p.Seq, all[i-1].Seq)
		}
		if ids[p.ID] {
			t.Fatalf("play %s journaled twice", p.ID)
		}
		seen[p.Seq], ids[p.ID] = true, true
	}
	for _, seq := range reported {
		if !seen[seq] {
			t.Fatalf("seq %d was returned by Append but is not in the journal", seq)
		}
	}
	// Seqs the helper appended but did not get to print may exist too; the
	// journal must hold no gaps from 1 to its last seq.
	if got, want := uint64(len(all)), j.LastSeq(); got != want {
		t.Fatalf("journal holds %d entries, want %d (1..LastSeq without gaps)", got, want)
	}
}
