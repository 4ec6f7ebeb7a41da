package loadtest

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"syscall"
)

// RaiseFileLimit raises this process's soft RLIMIT_NOFILE towards need (to
// the hard limit when need is 0 or less), never above the hard limit:
// raising that takes CAP_SYS_RESOURCE, which containers rarely grant. It
// returns the soft limit in force afterwards, and an error that says what
// to do when that is still below need.
func RaiseFileLimit(need int) (int, error) {
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		return 0, fmt.Errorf("read the open-file limit: %w", err)
	}
	want := lim
	want.Cur = lim.Max
	if need > 0 {
		want.Cur = min(lim.Max, uint64(need))
	}
	if want.Cur > lim.Cur {
		if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &want); err == nil {
			lim = want
		}
	}
	if need > 0 && lim.Cur < uint64(need) {
		return int(lim.Cur), fmt.Errorf("this process needs about %d open files (sockets and journal files) but may open only %d (hard limit %d): raise the hard limit (ulimit -Hn, or LimitNOFILE= in a unit file), host the players in more processes (--agent-procs), or run fewer --displays",
			need, lim.Cur, lim.Max)
	}
	return int(lim.Cur), nil
}

// Memory is one reading of a process's memory.
type Memory struct {
	RSS int64 `json:"rss_bytes"` // VmRSS: resident set size
	// The Go runtime's view; zero when the process is not ours to ask
	// (an external server read through /proc).
	HeapInuse  int64 `json:"heap_inuse_bytes,omitempty"`
	StackInuse int64 `json:"stack_inuse_bytes,omitempty"`
	GoSys      int64 `json:"go_sys_bytes,omitempty"` // everything the runtime obtained from the OS
	Goroutines int   `json:"goroutines,omitempty"`
	FDs        int   `json:"open_files,omitempty"` // open file descriptors (sockets included)
}

// Add returns the sum of m and o (for processes hosting shares of the fleet).
func (m Memory) Add(o Memory) Memory {
	return Memory{RSS: m.RSS + o.RSS, HeapInuse: m.HeapInuse + o.HeapInuse, StackInuse: m.StackInuse + o.StackInuse,
		GoSys: m.GoSys + o.GoSys, Goroutines: m.Goroutines + o.Goroutines, FDs: m.FDs + o.FDs}
}

// readSelfMemory reads this process's memory. With settle it first runs a
// collection and returns freed pages to the OS, so RSS reflects what is
// live rather than what the allocator still holds (call it only between
// measurements: it pauses the process briefly).
func readSelfMemory(settle bool) Memory {
	if settle {
		debug.FreeOSMemory() // runs a GC too
	}
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	rss, _ := readRSS(os.Getpid())
	return Memory{RSS: rss, HeapInuse: int64(ms.HeapInuse), StackInuse: int64(ms.StackInuse), GoSys: int64(ms.Sys),
		Goroutines: runtime.NumGoroutine(), FDs: openFiles(os.Getpid())}
}

// openFiles counts the open file descriptors of process pid (0 when
// /proc cannot tell).
func openFiles(pid int) int {
	ents, err := os.ReadDir("/proc/" + strconv.Itoa(pid) + "/fd")
	if err != nil {
		return 0
	}
	return len(ents)
}

// readRSS returns VmRSS of process pid, from /proc/<pid>/status, in bytes.
func readRSS(pid int) (int64, error) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return 0, fmt.Errorf("read memory of process %d: %w", pid, err)
	}
	v, ok := procField(b, "VmRSS:")
	if !ok {
		return 0, fmt.Errorf("process %d: no VmRSS in /proc/%d/status", pid, pid)
	}
	return v, nil
}

// procField parses a "Name:   1234 kB" line of a /proc file into bytes.
func procField(b []byte, name string) (int64, bool) {
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		rest, ok := strings.CutPrefix(sc.Text(), name)
		if !ok {
			continue
		}
		f := strings.Fields(rest)
		if len(f) == 0 {
			return 0, false
		}
		n, err := strconv.ParseInt(f[0], 10, 64)
		if err != nil {
			return 0, false
		}
		if len(f) > 1 && strings.EqualFold(f[1], "kB") {
			n <<= 10
		}
		return n, true
	}
	return 0, false
}

// Machine describes where the figures were taken.
type Machine struct {
	CPUs       int    `json:"cpus"`
	GOMAXPROCS int    `json:"gomaxprocs"`
	CPUModel   string `json:"cpu_model,omitempty"`
	MemTotal   int64  `json:"mem_total_bytes,omitempty"`
	GoVersion  string `json:"go_version"`
	OS         string `json:"os"`
	FileLimit  int    `json:"file_limit"` // soft RLIMIT_NOFILE of the bench process
	// LoadAvg is /proc/loadavg's 1-minute figure when the run began: other
	// work on the machine skews every figure.
	LoadAvg float64 `json:"load_avg_1m"`
}

func machineFacts() Machine {
	m := Machine{CPUs: runtime.NumCPU(), GOMAXPROCS: runtime.GOMAXPROCS(0), GoVersion: runtime.Version(),
		OS: runtime.GOOS + "/" + runtime.GOARCH}
	if b, err := os.ReadFile("/proc/meminfo"); err == nil {
		m.MemTotal, _ = procField(b, "MemTotal:")
	}
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		sc := bufio.NewScanner(bytes.NewReader(b))
		for sc.Scan() {
			if k, v, ok := strings.Cut(sc.Text(), ":"); ok && strings.TrimSpace(k) == "model name" {
				m.CPUModel = strings.TrimSpace(v)
				break
			}
		}
	}
	var lim syscall.Rlimit
	if syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim) == nil {
		m.FileLimit = int(lim.Cur)
	}
	if b, err := os.ReadFile("/proc/loadavg"); err == nil {
		if f := strings.Fields(string(b)); len(f) > 0 {
			m.LoadAvg, _ = strconv.ParseFloat(f[0], 64)
		}
	}
	return m
}

// processName returns the command line of process pid, shortened, so a
// report shows whose memory it read ("" when unknown).
func processName(pid int) string {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/cmdline")
	if err != nil {
		return ""
	}
	s := strings.TrimSpace(strings.ReplaceAll(string(b), "\x00", " "))
	if len(s) > 100 {
		s = s[:100] + "…"
	}
	return s
}
