package loadtest

import (
	"cmp"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"text/tabwriter"
)

// Report is the outcome of a run. Durations are in milliseconds or
// seconds as their names say; sizes in bytes.
type Report struct {
	Machine  Machine         `json:"machine"`
	Settings Settings        `json:"settings"`
	Setup    SetupReport     `json:"setup"`
	Start    StartReport     `json:"start"`
	FanOut   FanOutReport    `json:"fan_out"`
	Ingest   IngestReport    `json:"ingest"`
	Memory   MemoryReport    `json:"memory"`
	Baseline *BaselineReport `json:"baseline,omitempty"`
	Server   *ServerStats    `json:"server,omitempty"` // counters at the end (in-process server only)
	Notes    []string        `json:"notes,omitempty"`
}

// Settings are the run's parameters.
type Settings struct {
	Displays      int     `json:"displays"`
	Server        string  `json:"server"` // "in-process" or the URL
	ItemMS        int64   `json:"item_ms"`
	DurationS     float64 `json:"duration_s"`
	Ramp          float64 `json:"ramp_per_s"`
	AgentProcs    int     `json:"agent_procs"` // 0: players in the bench process
	BatchInterval string  `json:"batch_interval"`
}

// SetupReport covers the admin API calls that built the fleet.
type SetupReport struct {
	CreateS float64 `json:"create_s"` // banner, playlists, N displays, schedule
	SettleS float64 `json:"settle_s"` // until the initial states were published
}

// StartReport covers starting the players.
type StartReport struct {
	Started   int     `json:"started"`
	Connected int     `json:"connected"`
	Ready     int     `json:"ready"` // showing the initial playlist
	RampS     float64 `json:"ramp_s"`
	ConnectS  float64 `json:"connect_s"`
	ReadyS    float64 `json:"ready_s"`
}

// FanOutReport: a schedule change through the API (PUT), timed from its
// response (T0) until each player applied the new revision, and until the
// new playlist's item was on its screen.
type FanOutReport struct {
	StateBytes int     `json:"state_bytes"` // the new desired state's JSON
	PutMS      float64 `json:"put_ms"`      // the publishing request's own round trip: the approval of the PUT's change
	// AppliedByPoll counts players whose applying was not seen in their
	// log (the hook the bench relies on) but by a slow poll; normally 0.
	AppliedByPoll int  `json:"applied_by_poll"`
	Applied       Dist `json:"applied"`
	Shown         Dist `json:"shown"`
	// With an in-process server, the fan-out split at the instant the
	// server published each state: T0 → published (the server's
	// pipeline), and published → applied (broker and player).
	Published *Dist `json:"published,omitempty"`
	Delivered *Dist `json:"delivered,omitempty"`
}

// IngestReport covers the plays over the window.
type IngestReport struct {
	WindowS float64 `json:"window_s"`
	// Plays/s the players journaled (offered), the server stored (in-process
	// only; -1 when unknown) and the players saw acknowledged.
	OfferedPerS float64 `json:"offered_per_s"`
	StoredPerS  float64 `json:"stored_per_s"`
	AckedPerS   float64 `json:"acked_per_s"`
	// AckLag is from a play entering the journal to its ack reaching the
	// player (includes waiting for the batch), ±250 ms.
	AckLag       Dist   `json:"ack_lag"`
	PendingAtEnd uint64 `json:"pending_at_end"` // plays in the players' journals not yet acknowledged
	Resends      uint64 `json:"resends"`        // times players went back to an unacknowledged play
}

// MemStage is a memory reading at one stage of the run.
type MemStage struct {
	Stage string `json:"stage"`
	Memory
}

// MemoryReport holds the server's and the players' processes' memory at
// three stages: before the players, with every player connected and
// showing, and at the end of the ingest window.
type MemoryReport struct {
	// Shared: server and players in one process; Server then holds the
	// process and Players is empty.
	Shared bool `json:"shared"`
	// ServerProcess is the command line of the external server process
	// whose memory was read (--server-pid).
	ServerProcess string     `json:"server_process,omitempty"`
	Server        []MemStage `json:"server,omitempty"`
	Players       []MemStage `json:"players,omitempty"` // summed over the worker processes
	// Per player: (players' RSS and Go heap with N connected − before) / N;
	// with Shared, the whole process's growth per player (server side
	// included).
	PerPlayerRSS  int64 `json:"per_player_rss_bytes"`
	PerPlayerHeap int64 `json:"per_player_heap_bytes"`
	// Per display on the server: (server RSS with N connected − before) / N;
	// 0 when not separable.
	ServerPerDisplayRSS  int64 `json:"server_per_display_rss_bytes"`
	ServerPerDisplayHeap int64 `json:"server_per_display_heap_bytes"`
}

// BaselineReport is the raw paho fan-out of the same payload.
type BaselineReport struct {
	Subscribers  int     `json:"subscribers"`
	ConnectS     float64 `json:"connect_s"`
	PayloadBytes int     `json:"payload_bytes"`
	PublishedMS  float64 `json:"published_ms"` // until the last PUBACK
	Received     Dist    `json:"received"`
}

// WriteText writes the report as readable tables.
func (r *Report) WriteText(w io.Writer) error {
	var b strings.Builder
	m, s := r.Machine, r.Settings
	fmt.Fprintf(&b, "marquee bench fleet — %d displays, server %s\n", s.Displays, s.Server)
	fmt.Fprintf(&b, "machine: %d CPUs (%s), %s, %s, %s RAM, open-file limit %d, load average %.2f at the start\n",
		m.CPUs, cmp.Or(m.CPUModel, "?"), m.GoVersion, m.OS, bytesIEC(m.MemTotal), m.FileLimit, m.LoadAvg)
	procs := "in the bench process"
	if s.AgentProcs > 0 {
		procs = fmt.Sprintf("in %d worker process(es)", s.AgentProcs)
	}
	fmt.Fprintf(&b, "players %s; item %d ms; ingest window %.0f s; ramp %.0f/s; batch interval %s\n\n",
		procs, s.ItemMS, s.DurationS, s.Ramp, s.BatchInterval)

	fmt.Fprintf(&b, "setup %.1f s, initial publish settled in %.1f s; players: %d started in %.1f s, %d connected at %.1f s, %d showing at %.1f s\n\n",
		r.Setup.CreateS, r.Setup.SettleS, r.Start.Started, r.Start.RampS, r.Start.Connected, r.Start.ConnectS, r.Start.Ready, r.Start.ReadyS)

	tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "fan-out (from T0)\tn\tmissing\tmin ms\tp50 ms\tp99 ms\tmax ms\t")
	row := func(name string, d Dist) {
		fmt.Fprintf(tw, "%s\t%d\t%d\t%.0f\t%.0f\t%.0f\t%.0f\t\n", name, d.N, d.Missing, d.MinMS, d.P50MS, d.P99MS, d.MaxMS)
	}
	if d := r.FanOut.Published; d != nil {
		row("server got the PUBACK", *d)
	}
	row("state applied (ours)", r.FanOut.Applied)
	row("new item on screen (ours)", r.FanOut.Shown)
	if d := r.FanOut.Delivered; d != nil {
		row("PUBACK → applied", *d)
	}
	if bl := r.Baseline; bl != nil {
		row("baseline: raw paho received", bl.Received)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintf(&b, "state payload %d bytes; T0 = the approval's response (it took %.0f ms)", r.FanOut.StateBytes, r.FanOut.PutMS)
	if bl := r.Baseline; bl != nil {
		fmt.Fprintf(&b, "; baseline: %d bare subscribers connected in %.1f s, T0 = first publish, last PUBACK at %.0f ms",
			bl.Subscribers, bl.ConnectS, bl.PublishedMS)
	}
	b.WriteString("\n\n")

	in := r.Ingest
	stored := "n/a (external server)"
	if in.StoredPerS >= 0 {
		stored = fmt.Sprintf("%.0f/s", in.StoredPerS)
	}
	fmt.Fprintf(&b, "plays over %.0f s: offered %.0f/s, stored %s, acknowledged %.0f/s; ack lag p50 %.0f ms, p99 %.0f ms, max %.0f ms; pending at end %d, resends %d\n\n",
		in.WindowS, in.OfferedPerS, stored, in.AckedPerS, in.AckLag.P50MS, in.AckLag.P99MS, in.AckLag.MaxMS, in.PendingAtEnd, in.Resends)

	tw = tabwriter.NewWriter(&b, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "memory\tstage\tRSS\tGo heap\tstacks\tgoroutines\topen files\t")
	mem := func(who string, st []MemStage) {
		for _, x := range st {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t\n", who, x.Stage, bytesIEC(x.RSS), orDash(x.HeapInuse), orDash(x.StackInuse), orDashN(x.Goroutines), orDashN(x.FDs))
		}
	}
	server := "server"
	if r.Memory.Shared {
		server = "server+players"
	}
	if p := r.Memory.ServerProcess; p != "" {
		server = "server (" + p + ")"
	}
	mem(server, r.Memory.Server)
	mem("players", r.Memory.Players)
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintf(&b, "per player: %s RSS, %s Go heap", bytesIEC(r.Memory.PerPlayerRSS), bytesIEC(r.Memory.PerPlayerHeap))
	if r.Memory.ServerPerDisplayRSS != 0 {
		fmt.Fprintf(&b, "; server per connected display: %s RSS", bytesIEC(r.Memory.ServerPerDisplayRSS))
		if r.Memory.ServerPerDisplayHeap != 0 {
			fmt.Fprintf(&b, ", %s Go heap", bytesIEC(r.Memory.ServerPerDisplayHeap))
		}
	}
	b.WriteString("\n")

	if sv := r.Server; sv != nil {
		fmt.Fprintf(&b, "\nserver: %d play batches, %d plays stored, %d duplicates, %d shed, %d acks (%d failed); %d statuses; its MQTT client received %d, dropped %d (handler queue full); broker dropped %d on full write queues and %d on full inflight windows (to the server %d, to displays %d)\n",
			sv.PlayBatches, sv.PlaysStored, sv.PlaysDuplicates, sv.PlaysShed, sv.PlayAcks, sv.PlayAckErrors, sv.Statuses,
			sv.ClientReceived, sv.ClientDropped, sv.BrokerDropped, sv.BrokerInflightDropped, sv.DeliveryDropsToServer, sv.DeliveryDropsToDisplays)
		if len(sv.Warnings) > 0 {
			b.WriteString("server warnings:\n")
			keys := slices.SortedFunc(maps.Keys(sv.Warnings), func(a, b string) int { return cmp.Compare(sv.Warnings[b], sv.Warnings[a]) })
			for _, k := range keys[:min(len(keys), 8)] {
				fmt.Fprintf(&b, "  %7d× %s\n", sv.Warnings[k], k)
			}
		}
	}
	for _, n := range r.Notes {
		fmt.Fprintf(&b, "note: %s\n", n)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func orDash(n int64) string {
	if n == 0 {
		return "–"
	}
	return bytesIEC(n)
}

func orDashN(n int) string {
	if n == 0 {
		return "–"
	}
	return fmt.Sprint(n)
}

// bytesIEC formats n in B, KiB, MiB or GiB with about three significant
// digits.
func bytesIEC(n int64) string {
	neg := ""
	if n < 0 {
		neg, n = "-", -n
	}
	units := []string{"B", "KiB", "MiB", "GiB"}
	v, u := float64(n), 0
	for v >= 1000 && u < len(units)-1 {
		v /= 1024
		u++
	}
	switch {
	case u == 0:
		return fmt.Sprintf("%s%d B", neg, n)
	case v >= 100:
		return fmt.Sprintf("%s%.0f %s", neg, v, units[u])
	case v >= 10:
		return fmt.Sprintf("%s%.1f %s", neg, v, units[u])
	}
	return fmt.Sprintf("%s%.2f %s", neg, v, units[u])
}
