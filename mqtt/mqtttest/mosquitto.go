package mqtttest

import (
	"bufio"
	"bytes"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// Mosquitto is a real Mosquitto started for one test from a Marquee
// configuration directory (deploy/mosquitto).
type Mosquitto struct {
	URL    string // tcp://127.0.0.1:port
	Dir    string // its private copy of the configuration, password file and data
	passwd string
	cmd    *exec.Cmd
	log    *syncBuffer
	owner  *user.User    // set when the files must belong to the mosquitto user
	done   chan struct{} // closed when the process has exited
}

// StartMosquitto starts Mosquitto with confDir's mosquitto.conf and acl,
// copied into a private directory with only the listener port (a free one)
// and the password, ACL and persistence paths rewritten. users (name →
// password) fills the password file through mosquitto_passwd. It skips the
// test when mosquitto or mosquitto_passwd is not on PATH, and stops the
// broker when the test ends (printing its log if the test failed).
func StartMosquitto(t testing.TB, confDir string, users map[string]string) *Mosquitto {
	t.Helper()
	for _, bin := range []string{"mosquitto", "mosquitto_passwd"} {
		if _, err := exec.LookPath(bin); err != nil {
			t.Skipf("%s not on PATH (install Debian's mosquitto package, or set %s to an external broker): %v", bin, EnvURL, err)
		}
	}
	m := &Mosquitto{log: &syncBuffer{}}
	m.Dir = m.privateDir(t)
	m.passwd = filepath.Join(m.Dir, "passwords")
	first := true
	for name, pass := range users {
		args := []string{"-b", m.passwd, name, pass}
		if first {
			args = append([]string{"-c"}, args...)
			first = false
		}
		if out, err := exec.Command("mosquitto_passwd", args...).CombinedOutput(); err != nil {
			t.Fatalf("mosquitto_passwd %s: %v\n%s", name, err, out)
		}
	}
	acl, err := os.ReadFile(filepath.Join(confDir, "acl"))
	if err != nil {
		t.Fatalf("read acl: %v", err)
	}
	mustWrite(t, filepath.Join(m.Dir, "acl"), acl)
	if err := os.Mkdir(filepath.Join(m.Dir, "data"), 0o755); err != nil {
		t.Fatal(err)
	}
	var lastErr error
	for range 3 { // a free port may be taken between probing and binding
		port := freePort(t)
		conf := m.rewriteConf(t, filepath.Join(confDir, "mosquitto.conf"), port)
		mustWrite(t, filepath.Join(m.Dir, "mosquitto.conf"), conf)
		m.chown(t)
		if lastErr = m.start(port); lastErr == nil {
			t.Cleanup(func() { m.stop(t) })
			return m
		}
	}
	t.Fatalf("mosquitto did not start: %v\n%s", lastErr, m.log.String())
	return nil
}

// privateDir makes the broker's directory. Started as root, Mosquitto drops
// to the mosquitto user, which cannot enter t.TempDir() (0700 all the way
// up); the directory then lives under os.TempDir() owned by that user.
func (m *Mosquitto) privateDir(t testing.TB) string {
	t.Helper()
	if os.Geteuid() != 0 {
		return t.TempDir()
	}
	u, err := user.Lookup("mosquitto")
	if err != nil {
		return t.TempDir() // it then stays root
	}
	m.owner = u
	dir, err := os.MkdirTemp("", "marquee-mosquitto-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(dir) })
	return dir
}

func (m *Mosquitto) chown(t testing.TB) {
	t.Helper()
	if m.owner == nil {
		return
	}
	uid, _ := strconv.Atoi(m.owner.Uid)
	gid, _ := strconv.Atoi(m.owner.Gid)
	err := filepath.Walk(m.Dir, func(path string, _ os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		return os.Lchown(path, uid, gid)
	})
	if err != nil {
		t.Fatalf("chown %s: %v", m.Dir, err)
	}
}

// rewriteConf returns the configuration with the plain listener on port
// and the file paths inside m.Dir; every other line is kept as it is.
func (m *Mosquitto) rewriteConf(t testing.TB, path string, port int) []byte {
	t.Helper()
	src, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("read %s: %v", path, err)
	}
	var out bytes.Buffer
	seen := map[string]bool{}
	sc := bufio.NewScanner(bytes.NewReader(src))
	for sc.Scan() {
		line := sc.Text()
		fields := strings.Fields(line)
		if len(fields) > 0 {
			switch key := fields[0]; {
			case key == "listener" && len(fields) >= 2 && fields[1] == "1883":
				fields[1] = strconv.Itoa(port)
				line = strings.Join(fields, " ")
				seen[key] = true
			case key == "password_file":
				line, seen[key] = "password_file "+m.passwd, true
			case key == "acl_file":
				line, seen[key] = "acl_file "+filepath.Join(m.Dir, "acl"), true
			case key == "persistence_location":
				line, seen[key] = "persistence_location "+filepath.Join(m.Dir, "data")+"/", true
			}
		}
		out.WriteString(line + "\n")
	}
	for _, key := range []string{"listener", "password_file", "acl_file", "persistence_location"} {
		if !seen[key] {
			t.Fatalf("%s has no %q line to rewrite", path, key)
		}
	}
	return out.Bytes()
}

func (m *Mosquitto) start(port int) error {
	m.cmd = exec.Command("mosquitto", "-c", filepath.Join(m.Dir, "mosquitto.conf"))
	m.cmd.Stdout, m.cmd.Stderr = m.log, m.log
	if err := m.cmd.Start(); err != nil {
		return err
	}
	exited := make(chan error, 1)
	go func() { exited <- m.cmd.Wait() }()
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case err := <-exited:
			return fmt.Errorf("mosquitto exited: %v", err)
		default:
		}
		if c, err := net.DialTimeout("tcp", addr, 100*time.Millisecond); err == nil {
			_ = c.Close()
			m.URL = "tcp://" + addr
			m.done = make(chan struct{})
			go func() { <-exited; close(m.done) }()
			return nil
		}
		time.Sleep(20 * time.Millisecond)
	}
	_ = m.cmd.Process.Kill()
	<-exited
	return fmt.Errorf("mosquitto did not listen on %s within 5s", addr)
}

// AddUser adds or replaces an account and makes the broker reload its
// password file (SIGHUP).
func (m *Mosquitto) AddUser(t testing.TB, name, password string) {
	t.Helper()
	if out, err := exec.Command("mosquitto_passwd", "-b", m.passwd, name, password).CombinedOutput(); err != nil {
		t.Fatalf("mosquitto_passwd %s: %v\n%s", name, err, out)
	}
	m.chown(t)
	m.Reload(t)
}

// Reload sends SIGHUP: Mosquitto re-reads its password and ACL files.
func (m *Mosquitto) Reload(t testing.TB) {
	t.Helper()
	if err := m.cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatalf("SIGHUP mosquitto: %v", err)
	}
	time.Sleep(100 * time.Millisecond) // the reload is asynchronous
}

// Log returns what the broker has logged so far.
func (m *Mosquitto) Log() string { return m.log.String() }

func (m *Mosquitto) stop(t testing.TB) {
	_ = m.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-m.done:
	case <-time.After(5 * time.Second):
		_ = m.cmd.Process.Kill()
		<-m.done
	}
	if t.Failed() {
		t.Logf("mosquitto log:\n%s", m.log.String())
	}
}

func freePort(t testing.TB) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

func mustWrite(t testing.TB, path string, data []byte) {
	t.Helper()
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
}

// syncBuffer is a bytes.Buffer safe for the broker's output goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
