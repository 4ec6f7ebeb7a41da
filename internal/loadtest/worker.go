package loadtest

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"sync"
	"time"
)

// Players can be hosted in worker processes. One process holding N agents
// needs about six file descriptors per agent (the MQTT socket, its broker
// side when the server is in-process, the journal's lock and segment, an
// HTTP keep-alive pair) and containers often cap the hard limit at 20,000
// without a way to raise it; workers also separate the players' memory
// from the server's. A worker is `marquee bench agents`: it reads one JSON
// request per line on stdin and answers one JSON line on stdout.

// Worker is a running worker process, or anything that speaks its
// protocol: requests are written to W, answers read from R. Stop ends it
// once W is closed (waits for the process).
type Worker struct {
	W    io.WriteCloser
	R    io.Reader
	Stop func() error
}

// CommandWorker starts cmd (e.g. `marquee bench agents`) as a worker: its
// stdin and stdout carry the protocol, its stderr is left as set.
func CommandWorker(cmd *exec.Cmd) (*Worker, error) {
	w, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	r, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start worker: %w", err)
	}
	return &Worker{W: w, R: r, Stop: func() error {
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		select {
		case err := <-done:
			return err
		case <-time.After(time.Minute):
			_ = cmd.Process.Kill()
			return fmt.Errorf("worker %d did not exit; killed", cmd.Process.Pid)
		}
	}}, nil
}

type request struct {
	Op   string          `json:"op"`
	Args json.RawMessage `json:"args,omitempty"`
}

type response struct {
	Result json.RawMessage `json:"result,omitempty"`
	Error  string          `json:"error,omitempty"`
}

// Operations of the protocol.
const (
	opStart       = "start-agents"
	opReady       = "wait-ready"
	opArm         = "arm"
	opCollect     = "collect"
	opSample      = "sample"
	opStartSubs   = "start-subscribers"
	opCollectSubs = "collect-subscribers"
	opCloseSubs   = "close-subscribers"
	opClose       = "close"
)

// ServeWorker answers requests read from r on w with a host running in
// this process, until r ends or a close request; then it closes the host
// (its players disconnect) and returns. Use it as the body of a worker
// process.
func ServeWorker(ctx context.Context, r io.Reader, w io.Writer) error {
	if _, err := RaiseFileLimit(0); err != nil {
		return err
	}
	h := newLocalHost()
	defer func() {
		cctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		_ = h.close(cctx)
	}()
	dec := json.NewDecoder(bufio.NewReader(r))
	enc := json.NewEncoder(w)
	for {
		var req request
		if err := dec.Decode(&req); err != nil {
			if errors.Is(err, io.EOF) {
				return nil
			}
			return fmt.Errorf("worker: read request: %w", err)
		}
		res, err := dispatch(ctx, h, req)
		var out response
		if err != nil {
			out.Error = err.Error()
		} else if out.Result, err = json.Marshal(res); err != nil {
			out.Error = err.Error()
		}
		if err := enc.Encode(out); err != nil {
			return fmt.Errorf("worker: write answer: %w", err)
		}
		if req.Op == opClose {
			return nil
		}
	}
}

// dispatch runs one request on h.
func dispatch(ctx context.Context, h *localHost, req request) (any, error) {
	switch req.Op {
	case opStart:
		return call(ctx, req.Args, h.startAgents)
	case opReady:
		return call(ctx, req.Args, h.waitReady)
	case opArm:
		return call(ctx, req.Args, func(ctx context.Context, a armArgs) (struct{}, error) { return struct{}{}, h.arm(ctx, a) })
	case opCollect:
		return call(ctx, req.Args, h.collect)
	case opSample:
		return call(ctx, req.Args, h.sample)
	case opStartSubs:
		return call(ctx, req.Args, h.startSubs)
	case opCollectSubs:
		return call(ctx, req.Args, h.collectSubs)
	case opCloseSubs:
		return struct{}{}, h.closeSubs(ctx)
	case opClose:
		return struct{}{}, h.close(ctx)
	}
	return nil, fmt.Errorf("unknown operation %q", req.Op)
}

func call[A, R any](ctx context.Context, raw json.RawMessage, f func(context.Context, A) (R, error)) (R, error) {
	var a A
	if len(raw) > 0 {
		if err := json.Unmarshal(raw, &a); err != nil {
			var zero R
			return zero, fmt.Errorf("bad arguments: %w", err)
		}
	}
	return f(ctx, a)
}

// remoteHost is a host in a worker process. Calls are serialised; a call
// whose ctx ends stops the worker, since its answer can no longer be
// matched to the call.
type remoteHost struct {
	w    *Worker
	enc  *json.Encoder
	dec  *json.Decoder
	mu   sync.Mutex
	dead error
}

var _ host = (*remoteHost)(nil)

func newRemoteHost(w *Worker) *remoteHost {
	return &remoteHost{w: w, enc: json.NewEncoder(w.W), dec: json.NewDecoder(bufio.NewReader(w.R))}
}

func (r *remoteHost) call(ctx context.Context, op string, args, result any) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.dead != nil {
		return r.dead
	}
	raw, err := json.Marshal(args)
	if err != nil {
		return err
	}
	if err := r.enc.Encode(request{Op: op, Args: raw}); err != nil {
		r.dead = fmt.Errorf("worker: send %s: %w", op, err)
		return r.dead
	}
	done := make(chan error, 1)
	var out response
	go func() { done <- r.dec.Decode(&out) }()
	select {
	case err = <-done:
	case <-ctx.Done():
		r.dead = fmt.Errorf("worker: %s: %w", op, ctx.Err())
		_ = r.w.W.Close()
		return r.dead
	}
	if err != nil {
		r.dead = fmt.Errorf("worker: read the answer to %s: %w", op, err)
		return r.dead
	}
	if out.Error != "" {
		return fmt.Errorf("worker: %s: %s", op, out.Error)
	}
	if result != nil {
		return json.Unmarshal(out.Result, result)
	}
	return nil
}

func (r *remoteHost) startAgents(ctx context.Context, a startArgs) (res startResult, err error) {
	return res, r.call(ctx, opStart, a, &res)
}

func (r *remoteHost) waitReady(ctx context.Context, a readyArgs) (res readyResult, err error) {
	return res, r.call(ctx, opReady, a, &res)
}

func (r *remoteHost) arm(ctx context.Context, a armArgs) error {
	return r.call(ctx, opArm, a, nil)
}

func (r *remoteHost) collect(ctx context.Context, a collectArgs) (res collectResult, err error) {
	return res, r.call(ctx, opCollect, a, &res)
}

func (r *remoteHost) sample(ctx context.Context, a sampleArgs) (res hostSample, err error) {
	return res, r.call(ctx, opSample, a, &res)
}

func (r *remoteHost) startSubs(ctx context.Context, a subsArgs) (res subsResult, err error) {
	return res, r.call(ctx, opStartSubs, a, &res)
}

func (r *remoteHost) collectSubs(ctx context.Context, a collectArgs) (res collectResult, err error) {
	return res, r.call(ctx, opCollectSubs, a, &res)
}

func (r *remoteHost) closeSubs(ctx context.Context) error {
	return r.call(ctx, opCloseSubs, struct{}{}, nil)
}

// close asks the worker to close its players, then ends it.
func (r *remoteHost) close(ctx context.Context) error {
	err := r.call(ctx, opClose, struct{}{}, nil)
	_ = r.w.W.Close()
	if serr := r.w.Stop(); serr != nil && err == nil {
		err = fmt.Errorf("worker exit: %w", serr)
	}
	return err
}
