// Command marquee-player runs on a screen controller: it keeps the display's
// desired state, plays it from a local cache, journals and uploads every
// play, and reports its status.
//
//	marquee-player [flags]   run the player until SIGTERM or SIGINT
//	marquee-player version   print the version
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	_ "time/tzdata" // schedule zones must load on controllers without zoneinfo
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	os.Exit(run(ctx, os.Args[1:], os.Stdout, os.Stderr, os.Getenv))
}

// run executes the player (or a subcommand) and returns the exit code.
func run(ctx context.Context, args []string, stdout, stderr io.Writer, getenv func(string) string) int {
	if len(args) > 0 {
		switch args[0] {
		case "version", "--version", "-version":
			fmt.Fprintln(stdout, "marquee-player", Version())
			return 0
		}
	}
	err := runPlayer(ctx, args, stdout, stderr, getenv)
	switch {
	case err == nil:
		return 0
	case errors.Is(err, flag.ErrHelp):
		return 0
	default:
		fmt.Fprintln(stderr, "marquee-player:", err)
		return 1
	}
}

// runPlayer runs the player until ctx ends, then shuts it down gracefully
// within the shutdown timeout.
func runPlayer(ctx context.Context, args []string, stdout, stderr io.Writer, getenv func(string) string) error {
	m := NewMain(stdout, stderr, getenv)
	if err := m.ParseFlags(args); err != nil {
		return err
	}
	if err := m.Run(ctx); err != nil {
		return err
	}
	<-ctx.Done()
	m.Logger.Info("shutting down", "timeout", m.Config.ShutdownTimeout)
	sctx, cancel := context.WithTimeout(context.Background(), m.Config.ShutdownTimeout)
	defer cancel()
	return m.Close(sctx)
}
