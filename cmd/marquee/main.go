// Command marquee is the Marquee server and admin CLI.
//
//	marquee serve     run the admin server with its store and media library
//	marquee migrate   apply pending database migrations
//	marquee version   print the version
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
)

const usage = `marquee — digital signage scheduler for LED screens

Usage:
  marquee demo    [flags]   run the server with sample content and three simulated screens
  marquee serve   [flags]   run the server (admin API, media library, MQTT broker)
  marquee migrate [flags]   apply pending database migrations and exit
  marquee bench fleet [flags]  measure fan-out and ingest with N simulated players
  marquee seed plays [flags]   fill a scratch database with synthetic plays and time reports
  marquee rollups rebuild [flags]  recompute the airtime rollups of a period from the raw plays
  marquee version           print the version and exit

Run 'marquee <command> --help' for the flags of a command. Every flag can also
be set with the MARQUEE_* environment variable shown in its help.
`

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	os.Exit(run(ctx, os.Args[1:], os.Stdout, os.Stderr, os.Getenv))
}

// run executes one subcommand and returns the process exit code.
func run(ctx context.Context, args []string, stdout, stderr io.Writer, getenv func(string) string) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	var err error
	switch cmd, rest := args[0], args[1:]; cmd {
	case "serve":
		err = runServe(ctx, rest, stdout, stderr, getenv)
	case "demo":
		err = runDemo(ctx, rest, stdout, stderr, getenv)
	case "migrate":
		err = runMigrate(ctx, rest, stdout, stderr, getenv)
	case "bench":
		err = runBench(ctx, rest, stdout, stderr, getenv)
	case "seed":
		err = runSeed(ctx, rest, stdout, stderr, getenv)
	case "rollups":
		err = runRollups(ctx, rest, stdout, stderr, getenv)
	case "version", "--version", "-version":
		fmt.Fprintln(stdout, "marquee", Version())
	case "help", "-h", "--help", "-help":
		fmt.Fprint(stdout, usage)
	default:
		fmt.Fprintf(stderr, "marquee: unknown command %q\n\n%s", cmd, usage)
		return 2
	}
	switch {
	case err == nil:
		return 0
	case errors.Is(err, flag.ErrHelp):
		return 0
	default:
		fmt.Fprintln(stderr, "marquee:", err)
		return 1
	}
}

func runServe(ctx context.Context, args []string, stdout, stderr io.Writer, getenv func(string) string) error {
	m := NewMain(stdout, stderr, getenv)
	if err := m.ParseFlags("serve", args); err != nil {
		return err
	}
	if err := m.Run(ctx); err != nil {
		m.Close(context.Background())
		return err
	}
	<-ctx.Done()
	m.Logger.Info("shutting down", "timeout", m.Config.ShutdownTimeout)
	sctx, cancel := context.WithTimeout(context.Background(), m.Config.ShutdownTimeout)
	defer cancel()
	return m.Close(sctx)
}

func runMigrate(ctx context.Context, args []string, stdout, stderr io.Writer, getenv func(string) string) error {
	m := NewMain(stdout, stderr, getenv)
	if err := m.ParseFlags("migrate", args); err != nil {
		return err
	}
	return m.Migrate(ctx)
}
